/** A webhook's creation, within its organization's limit, and the pages of their list. */
import type { Kysely } from "kysely";
import type { Database, Webhook, WebhookStatus } from "../db/schema.ts";
import { jsonb } from "../db/mod.ts";
import { type Cursor, olderThan } from "../db/keyset.ts";
import { newId } from "../domain/ids.ts";
import { newSigningSecret } from "../domain/secrets.ts";
import { ALL_EVENTS } from "../domain/event_types.ts";
import { DEFAULT_ORDERING, type Ordering } from "../domain/ordering.ts";
import { ensureFlowRow } from "./flow.ts";

/** What a new webhook is given; everything but the URL has a default. */
export interface NewWebhook {
  url: string;
  name?: string;
  verifyToken?: string;
  eventTypes?: string[];
  headers?: Record<string, string>;
  rateLimit?: number | null;
  ordering?: Ordering;
}

/**
 * Creates a webhook with a fresh signing secret, unless its organization already has `limit`: the
 * organization's row serialises concurrent creations, so the limit holds exactly.
 */
export async function createWebhook(
  db: Kysely<Database>,
  organizationId: string,
  given: NewWebhook,
  limit: number,
): Promise<{ kind: "created"; webhook: Webhook } | { kind: "limit_reached"; limit: number }> {
  const now = Date.now();
  return await db.transaction().execute(async (tx) => {
    await tx.selectFrom("organizations").select("id").where("id", "=", organizationId)
      .forUpdate().executeTakeFirstOrThrow();
    const { count } = await tx.selectFrom("webhooks")
      .select((eb) => eb.fn.countAll<number>().as("count"))
      .where("organization_id", "=", organizationId).where("deleted_at", "is", null)
      .executeTakeFirstOrThrow();
    if (Number(count) >= limit) return { kind: "limit_reached", limit };
    const webhook = await tx.insertInto("webhooks").values({
      id: newId("wh"),
      organization_id: organizationId,
      name: given.name ?? new URL(given.url).host,
      url: given.url,
      verify_token: given.verifyToken ?? null,
      event_types: jsonb(given.eventTypes ?? [ALL_EVENTS]),
      headers: jsonb(given.headers ?? {}),
      rate_limit: given.rateLimit ?? null,
      ordering: given.ordering ?? DEFAULT_ORDERING,
      signing_secret: newSigningSecret(),
      retired_signing_secrets: jsonb([]),
      status: "active",
      deactivation_reason: null,
      deactivated_at: null,
      created_at: now,
      updated_at: now,
      deleted_at: null,
    }).returningAll().executeTakeFirstOrThrow();
    if (webhook.rate_limit !== null) await ensureFlowRow(tx, webhook.id);
    return { kind: "created", webhook };
  });
}

/** Which page of a list of webhooks: how many, after which one, of which status if any. */
export interface WebhookPageQuery {
  limit: number;
  after?: Cursor;
  status?: WebhookStatus;
}

/**
 * An organization's live webhooks newest first, after `query.after`: `limit + 1` rows at most, the
 * one past the page telling that another follows.
 */
export async function listWebhooksPage(
  db: Kysely<Database>,
  organizationId: string,
  { limit, after, status }: WebhookPageQuery,
): Promise<Webhook[]> {
  let query = db.selectFrom("webhooks").selectAll()
    .where("organization_id", "=", organizationId).where("deleted_at", "is", null);
  if (status) query = query.where("status", "=", status);
  if (after) query = query.where(olderThan(after, { createdAt: "created_at", id: "id" }));
  return await query.orderBy("created_at", "desc").orderBy("id", "desc")
    .limit(limit + 1).execute();
}
