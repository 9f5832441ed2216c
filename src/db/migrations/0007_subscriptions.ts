/**
 * Event-type subscriptions and custom headers per webhook, and a per-organization count of each
 * event type (so listing them never scans the events table). Frozen.
 */
import { type Kysely, sql } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("webhooks")
    .addColumn("event_types", "jsonb", (c) => c.notNull().defaultTo(sql`'["*"]'::jsonb`))
    .execute();
  await db.schema.alterTable("webhooks")
    .addColumn("headers", "jsonb", (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();

  // Names compare byte by byte ("C"), so the listing's order and its cursor agree everywhere.
  await db.schema.createTable("event_type_counts")
    .addColumn("organization_id", "text", (c) => c.notNull().references("organizations.id"))
    .addColumn("name", sql`text collate "C"`, (c) => c.notNull())
    .addColumn("shard", "smallint", (c) => c.notNull())
    .addColumn("count", "bigint", (c) => c.notNull())
    .addColumn("last_seen_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("event_type_counts_pkey", ["organization_id", "name", "shard"])
    .execute();
  await sql`insert into event_type_counts (organization_id, name, shard, count, last_seen_at)
    select organization_id, type, 0, count(*), max(created_at) from events
    group by organization_id, type`.execute(db);
}

// deno-lint-ignore no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("event_type_counts").execute();
  await db.schema.alterTable("webhooks").dropColumn("headers").execute();
  await db.schema.alterTable("webhooks").dropColumn("event_types").execute();
}
