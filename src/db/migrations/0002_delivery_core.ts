/**
 * The delivery core: exact attempt records, a reason for cancelled payloads, webhook change
 * requests (an outbox the reconciler replays) and the reconciler's cursors. Frozen.
 */
import { type Kysely, sql } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  // One row per (payload, run, number): an attempt is claimed before its POST, so a retried
  // activity finds its claim instead of sending again.
  await db.schema.dropIndex("attempts_payload_idx").execute();
  await db.schema.createIndex("attempts_payload_run_number_idx").unique().on("attempts")
    .columns(["payload_id", "run", "number"]).execute();
  await db.schema.alterTable("attempts").addColumn("finished_at", "bigint").execute();
  await sql`update attempts set finished_at = started_at + duration_ms`.execute(db);

  await db.schema.alterTable("payloads").addColumn("cancel_reason", "text").execute();
  await db.schema.createIndex("payloads_pending_idx").on("payloads")
    .columns(["created_at", "id"]).where(sql.ref("status"), "=", "pending").execute();

  await db.schema.createTable("webhook_requests")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("webhook_id", "text", (c) => c.notNull().references("webhooks.id"))
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("reason", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("applied_at", "bigint")
    .execute();
  await db.schema.createIndex("webhook_requests_unapplied_idx").on("webhook_requests")
    .columns(["created_at", "id"]).where(sql.ref("applied_at"), "is", null).execute();
  await db.schema.createIndex("webhook_requests_webhook_idx").on("webhook_requests")
    .columns(["webhook_id", "created_at"]).execute();

  await db.schema.createTable("reconciler_cursors")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("position", "text", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
}

// deno-lint-ignore no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("reconciler_cursors").execute();
  await db.schema.dropTable("webhook_requests").execute();
  await db.schema.dropIndex("payloads_pending_idx").execute();
  await db.schema.alterTable("payloads").dropColumn("cancel_reason").execute();
  await db.schema.alterTable("attempts").dropColumn("finished_at").execute();
  await db.schema.dropIndex("attempts_payload_run_number_idx").execute();
  await db.schema.createIndex("attempts_payload_idx").on("attempts")
    .columns(["payload_id", "run", "number"]).execute();
}
