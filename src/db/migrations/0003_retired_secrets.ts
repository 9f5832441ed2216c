/**
 * Every signing secret retired in the last 24 hours keeps signing, not only the last one: a list
 * replaces the single previous secret. Frozen.
 */
import { type Kysely, sql } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("webhooks")
    .addColumn("retired_signing_secrets", "jsonb", (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .execute();
  await sql`update webhooks set retired_signing_secrets = jsonb_build_array(jsonb_build_object(
    'secret', previous_signing_secret, 'expiresAt', previous_secret_expires_at))
    where previous_signing_secret is not null`.execute(db);
  await db.schema.alterTable("webhooks").dropColumn("previous_signing_secret").execute();
  await db.schema.alterTable("webhooks").dropColumn("previous_secret_expires_at").execute();
}

// deno-lint-ignore no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("webhooks").addColumn("previous_signing_secret", "text").execute();
  await db.schema.alterTable("webhooks").addColumn("previous_secret_expires_at", "bigint")
    .execute();
  await sql`update webhooks set previous_signing_secret = retired_signing_secrets->0->>'secret',
    previous_secret_expires_at = (retired_signing_secrets->0->>'expiresAt')::bigint`.execute(db);
  await db.schema.alterTable("webhooks").dropColumn("retired_signing_secrets").execute();
}
