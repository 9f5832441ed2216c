/**
 * Ordered delivery per object: a webhook's `ordering` (`none` or `object`), a global sequence of
 * events (the order they were recorded in, told to receivers as `webhook-sequence`), and the
 * order key of each payload of an ordered webhook, with the index its turn is looked up by.
 * Frozen once released.
 */
import { type Kysely, sql } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table webhooks add column ordering text not null default 'none'
    check (ordering in ('none', 'object'))`.execute(db);
  await sql`alter table events add column seq bigint generated always as identity`.execute(db);
  // Set only for the payloads of an ordered webhook whose event names its object.
  await sql`alter table payloads add column order_key text`.execute(db);
  await sql`alter table payloads add column seq bigint`.execute(db);
  // A payload's turn: the open payloads of the same webhook and object, in event order.
  await sql`create index payloads_order_idx on payloads (webhook_id, order_key, seq)
    where order_key is not null and status in ('pending', 'delivering')`.execute(db);
}

// deno-lint-ignore no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists payloads_order_idx`.execute(db);
  await db.schema.alterTable("payloads").dropColumn("seq").dropColumn("order_key").execute();
  await db.schema.alterTable("events").dropColumn("seq").execute();
  await db.schema.alterTable("webhooks").dropColumn("ordering").execute();
}
