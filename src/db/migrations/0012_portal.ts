/**
 * Portal links, and the dashboard sessions opened without an API key: by a portal link (for the
 * link's organization alone) or by the admin token (for the platform, which opens one
 * organization at a time). Frozen once released.
 */
import { type Kysely, sql } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  // A link is kept as the SHA-256 of its token, as sessions are; used once, then kept until it
  // would have expired.
  await db.schema.createTable("portal_links")
    .addColumn("id_hash", "text", (c) => c.primaryKey())
    .addColumn("organization_id", "text", (c) => c.notNull().references("organizations.id"))
    .addColumn("session_ms", "bigint", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addColumn("used_at", "bigint")
    .execute();
  await db.schema.createIndex("portal_links_expires_idx").on("portal_links")
    .column("expires_at").execute();
  // A session is opened with an API key (ended by its revocation), by a portal link (for the
  // link's organization, until it expires) or with the admin token (ended when the token changes:
  // its hash is kept; `organization_id` is the organization it has open, if any).
  await sql`alter table dashboard_sessions alter column api_key_id drop not null`.execute(db);
  await db.schema.alterTable("dashboard_sessions")
    .addColumn("kind", "text", (c) => c.notNull().defaultTo("key")).execute();
  await db.schema.alterTable("dashboard_sessions")
    .addColumn("organization_id", "text", (c) => c.references("organizations.id")).execute();
  await db.schema.alterTable("dashboard_sessions")
    .addColumn("admin_token_hash", "text").execute();
  await sql`alter table dashboard_sessions add constraint dashboard_sessions_kind_check check (
    (kind = 'key' and api_key_id is not null)
    or (kind = 'portal' and organization_id is not null and api_key_id is null)
    or (kind = 'admin' and admin_token_hash is not null and api_key_id is null))`.execute(db);
}

// deno-lint-ignore no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`delete from dashboard_sessions where kind <> 'key'`.execute(db);
  await sql`alter table dashboard_sessions drop constraint dashboard_sessions_kind_check`
    .execute(db);
  await db.schema.alterTable("dashboard_sessions").dropColumn("admin_token_hash").execute();
  await db.schema.alterTable("dashboard_sessions").dropColumn("organization_id").execute();
  await db.schema.alterTable("dashboard_sessions").dropColumn("kind").execute();
  await sql`alter table dashboard_sessions alter column api_key_id set not null`.execute(db);
  await db.schema.dropTable("portal_links").execute();
}
