/**
 * Dashboard sessions kept on the server: the cookie holds a random id, the table only its hash,
 * tied to the API key it was opened with (revoking the key ends the session). Frozen.
 */
import type { Kysely } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createTable("dashboard_sessions")
    .addColumn("id_hash", "text", (c) => c.primaryKey())
    .addColumn("api_key_id", "text", (c) => c.notNull().references("api_keys.id"))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("dashboard_sessions_expires_idx").on("dashboard_sessions")
    .column("expires_at").execute();
}

// deno-lint-ignore no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("dashboard_sessions").execute();
}
