/** The first schema. Frozen: later changes go in new migrations. */
import { type Kysely, sql } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await organizationsAndWebhooks(db);
  await contactsEventsAndDeliveries(db);
}

/** Organizations, their API keys and their webhooks. */
// deno-lint-ignore no-explicit-any
async function organizationsAndWebhooks(db: Kysely<any>): Promise<void> {
  await db.schema.createTable("organizations")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("plan", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();

  await db.schema.createTable("api_keys")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("organization_id", "text", (c) => c.notNull().references("organizations.id"))
    .addColumn("key_hash", "text", (c) => c.notNull().unique())
    .addColumn("prefix", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("revoked_at", "bigint")
    .execute();

  await db.schema.createTable("webhooks")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("organization_id", "text", (c) => c.notNull().references("organizations.id"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("url", "text", (c) => c.notNull())
    .addColumn("verify_token", "text")
    .addColumn("signing_secret", "text", (c) => c.notNull())
    .addColumn("previous_signing_secret", "text")
    .addColumn("previous_secret_expires_at", "bigint")
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("deactivation_reason", "text")
    .addColumn("deactivated_at", "bigint")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addColumn("deleted_at", "bigint")
    .execute();
  await db.schema.createIndex("webhooks_organization_idx")
    .on("webhooks").columns(["organization_id", "created_at", "id"]).execute();
}

/** Contacts, the events they and publishers record, and each webhook's payloads and attempts. */
// deno-lint-ignore no-explicit-any
async function contactsEventsAndDeliveries(db: Kysely<any>): Promise<void> {
  await db.schema.createTable("contacts")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("organization_id", "text", (c) => c.notNull().references("organizations.id"))
    .addColumn("fields", "jsonb", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();

  await db.schema.createTable("events")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("organization_id", "text", (c) => c.notNull().references("organizations.id"))
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("object", "text", (c) => c.notNull())
    .addColumn("object_id", "text")
    .addColumn("object_created_at", "bigint", (c) => c.notNull())
    .addColumn("data", "jsonb", (c) => c.notNull())
    .addColumn("idempotency_key", "text")
    .addColumn("request_hash", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await sql`create unique index events_idempotency_idx on events (organization_id, idempotency_key)
    where idempotency_key is not null`.execute(db);

  await db.schema.createTable("payloads")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("event_id", "text", (c) => c.notNull().references("events.id"))
    .addColumn("webhook_id", "text", (c) => c.notNull().references("webhooks.id"))
    .addColumn("organization_id", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("run", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("attempt_count", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("first_sent_at", "bigint")
    .addColumn("last_body", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addColumn("finished_at", "bigint")
    .execute();
  await db.schema.createIndex("payloads_webhook_idx")
    .on("payloads").columns(["webhook_id", "created_at", "id"]).execute();
  await db.schema.createIndex("payloads_status_idx").on("payloads").columns([
    "status",
    "created_at",
  ])
    .execute();

  await db.schema.createTable("attempts")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("payload_id", "text", (c) => c.notNull().references("payloads.id"))
    .addColumn("run", "integer", (c) => c.notNull())
    .addColumn("number", "integer", (c) => c.notNull())
    .addColumn("started_at", "bigint", (c) => c.notNull())
    .addColumn("duration_ms", "integer", (c) => c.notNull())
    .addColumn("response_status", "integer")
    .addColumn("error", "text")
    .addColumn("response_body", "text")
    .execute();
  await db.schema.createIndex("attempts_payload_idx").on("attempts")
    .columns(["payload_id", "run", "number"]).execute();
}

// deno-lint-ignore no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  for (
    const table of [
      "attempts",
      "payloads",
      "events",
      "contacts",
      "webhooks",
      "api_keys",
      "organizations",
    ]
  ) {
    await db.schema.dropTable(table).execute();
  }
}
