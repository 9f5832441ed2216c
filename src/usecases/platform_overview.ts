/**
 * What the admin token's dashboard lists: the organizations (those with a deactivated webhook
 * first) and the operational webhooks.
 */
import { type Kysely, sql } from "kysely";
import type { Database, DeactivationReason, Plan, WebhookStatus } from "../db/schema.ts";
import { PLATFORM_ORGANIZATION_ID } from "../domain/operational_events.ts";

/** The most organizations one page lists. */
export const OVERVIEW_LIMIT = 200;

/** One organization as the list shows it. */
export interface OrganizationSummary {
  id: string;
  name: string;
  plan: Plan;
  webhooks: number;
  deactivated: number;
  createdAt: number;
}

/** One operational webhook as the list shows it. */
export interface OperationalWebhookSummary {
  id: string;
  name: string;
  status: WebhookStatus;
  deactivationReason: DeactivationReason | null;
  eventTypes: string[];
}

/**
 * The organizations, those with the most deactivated webhooks first, then by name (at most
 * OVERVIEW_LIMIT, and how many there are in all), and the operational webhooks.
 */
export async function platformOverview(db: Kysely<Database>): Promise<{
  organizations: OrganizationSummary[];
  total: number;
  operationalWebhooks: OperationalWebhookSummary[];
}> {
  const counts = db.selectFrom("webhooks")
    .select("organization_id")
    .select((eb) => [
      eb.fn.countAll<number>().as("webhooks"),
      sql<number>`count(*) filter (where status = 'deactivated')`.as("deactivated"),
    ])
    .where("deleted_at", "is", null)
    .groupBy("organization_id")
    .as("counts");
  const [rows, total, operational] = await Promise.all([
    db.selectFrom("organizations")
      .leftJoin(counts, "counts.organization_id", "organizations.id")
      .select([
        "organizations.id",
        "organizations.name",
        "organizations.plan",
        "organizations.created_at",
        sql<number>`coalesce(counts.webhooks, 0)`.as("webhooks"),
        sql<number>`coalesce(counts.deactivated, 0)`.as("deactivated"),
      ])
      .where("organizations.id", "<>", PLATFORM_ORGANIZATION_ID)
      .orderBy(sql`coalesce(counts.deactivated, 0)`, "desc")
      .orderBy("organizations.name")
      .orderBy("organizations.id")
      .limit(OVERVIEW_LIMIT)
      .execute(),
    db.selectFrom("organizations").select((eb) => eb.fn.countAll<number>().as("count"))
      .where("id", "<>", PLATFORM_ORGANIZATION_ID).executeTakeFirstOrThrow(),
    db.selectFrom("webhooks")
      .select(["id", "name", "status", "deactivation_reason", "event_types"])
      .where("organization_id", "=", PLATFORM_ORGANIZATION_ID).where("deleted_at", "is", null)
      .orderBy("created_at").orderBy("id")
      .execute(),
  ]);
  return {
    organizations: rows.map((r) => ({
      id: r.id,
      name: r.name,
      plan: r.plan,
      webhooks: Number(r.webhooks),
      deactivated: Number(r.deactivated),
      createdAt: Number(r.created_at),
    })),
    total: Number(total.count),
    operationalWebhooks: operational.map((w) => ({
      id: w.id,
      name: w.name,
      status: w.status,
      deactivationReason: w.deactivation_reason,
      eventTypes: w.event_types,
    })),
  };
}

/** An organization's name, or undefined for one that does not exist. */
export async function organizationName(
  db: Kysely<Database>,
  id: string,
): Promise<string | undefined> {
  if (id === PLATFORM_ORGANIZATION_ID) return "Operational webhooks";
  const row = await db.selectFrom("organizations").select("name").where("id", "=", id)
    .executeTakeFirst();
  return row?.name;
}
