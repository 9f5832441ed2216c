/**
 * What a platform needs to run Herald for its customers: the events of one organization by time
 * (a replay reads them per webhook). Frozen once released.
 */
import { type Kysely, sql } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  // A replay reads one organization's events since a time, oldest first.
  await sql`create index if not exists events_organization_created_idx
    on events (organization_id, created_at, id)`.execute(db);
}

// deno-lint-ignore no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("events_organization_created_idx").execute();
}
