/**
 * Flow control per webhook: an optional `rate_limit` (POSTs per second) and the pace state every
 * worker shares: the next free send slot, the sends of the last second, a pause asked for by
 * `Retry-After`, and the pace Herald chose after an overload signal. Frozen.
 */
import { type Kysely, sql } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("webhooks").addColumn("rate_limit", "integer").execute();
  await db.schema.createTable("webhook_flow")
    .addColumn("webhook_id", "text", (c) => c.primaryKey().references("webhooks.id"))
    // Milliseconds with fractions: a slot is 1000 / rate ms long.
    .addColumn("next_slot_at", "double precision", (c) => c.notNull().defaultTo(0))
    .addColumn("recent_sends", sql`double precision[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn("paused_until", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("pace", "double precision")
    .addColumn("pace_changed_at", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("signal_status", "integer")
    .addColumn("signal_error", "text")
    .addColumn("signal_at", "bigint")
    .execute();
  // Counting a webhook's recent deliveries (the pace after an overload signal) reads this.
  await sql`create index payloads_webhook_finished_idx on payloads (webhook_id, finished_at)
    where status = 'delivered'`.execute(db);
}

// deno-lint-ignore no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists payloads_webhook_finished_idx`.execute(db);
  await db.schema.dropTable("webhook_flow").execute();
  await db.schema.alterTable("webhooks").dropColumn("rate_limit").execute();
}
