/**
 * Idempotency keys get their own table: a keyed write that records no event (a PATCH that changes
 * nothing) still remembers its key. Keys move off `events`. Frozen.
 */
import { type Kysely, sql } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable("idempotency_keys")
    .addColumn("organization_id", "text", (c) => c.notNull().references("organizations.id"))
    .addColumn("key", "text", (c) => c.notNull())
    .addColumn("request_hash", "text", (c) => c.notNull())
    .addColumn("event_id", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("idempotency_keys_pkey", ["organization_id", "key"])
    .execute();
  await db.schema.createIndex("idempotency_keys_created_idx").on("idempotency_keys")
    .column("created_at").execute();
  await sql`insert into idempotency_keys (organization_id, key, request_hash, event_id, created_at)
    select organization_id, idempotency_key, coalesce(request_hash, ''), id, created_at
    from events where idempotency_key is not null`.execute(db);
  await sql`drop index if exists events_idempotency_idx`.execute(db);
  await db.schema.alterTable("events").dropColumn("idempotency_key").execute();
  await db.schema.alterTable("events").dropColumn("request_hash").execute();
}

// deno-lint-ignore no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("events").addColumn("idempotency_key", "text").execute();
  await db.schema.alterTable("events").addColumn("request_hash", "text").execute();
  await sql`update events set idempotency_key = k.key, request_hash = k.request_hash
    from idempotency_keys k where k.event_id = events.id`.execute(db);
  await sql`create unique index events_idempotency_idx on events (organization_id, idempotency_key)
    where idempotency_key is not null`.execute(db);
  await db.schema.dropTable("idempotency_keys").execute();
}
