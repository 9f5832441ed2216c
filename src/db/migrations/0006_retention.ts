/**
 * Indexes for retention's batched deletes, so each batch is a short index range scan: final
 * payloads by last change, events by age, and payloads by event (for "has it any payload left?"
 * and the foreign key check when an event goes). Frozen.
 */
import { type Kysely, sql } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  // `if not exists`: on a large database an operator may build them beforehand, concurrently.
  // The statuses are spelled out here and in the deleting query alike, so the planner matches them.
  await sql`create index if not exists payloads_final_idx on payloads (updated_at, id)
    where status in ('delivered', 'failed', 'cancelled')`.execute(db);
  await sql`create index if not exists payloads_event_idx on payloads (event_id)`.execute(db);
  await sql`create index if not exists events_created_idx on events (created_at, id)`.execute(db);
}

// deno-lint-ignore no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("events_created_idx").execute();
  await db.schema.dropIndex("payloads_event_idx").execute();
  await db.schema.dropIndex("payloads_final_idx").execute();
}
