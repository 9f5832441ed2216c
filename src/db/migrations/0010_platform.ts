/**
 * What a platform needs to run Herald for its customers: the events of one organization by time
 * (a replay reads them per webhook), and the reserved organization whose webhooks are the
 * operational webhooks (its id is PLATFORM_ORGANIZATION_ID in src/domain/operational_events.ts).
 * Frozen once released.
 */
import { type Kysely, sql } from "kysely";

// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  // A replay reads one organization's events since a time, oldest first.
  await sql`create index if not exists events_organization_created_idx
    on events (organization_id, created_at, id)`.execute(db);
  // Business plan: webhooks exist only there. No API key is ever issued for it.
  const now = Date.now();
  await sql`insert into organizations (id, name, plan, created_at, updated_at)
    values ('org_platform', 'Platform', 'business', ${now}, ${now})
    on conflict (id) do nothing`.execute(db);
}

// deno-lint-ignore no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  // Kept while anything of the platform's is (its webhooks, their events).
  await sql`delete from organizations where id = 'org_platform'
    and not exists (select 1 from webhooks where organization_id = 'org_platform')
    and not exists (select 1 from events where organization_id = 'org_platform')`.execute(db);
  await db.schema.dropIndex("events_organization_created_idx").execute();
}
