/**
 * Replay: one payload for each retained event a webhook never got (it was deactivated, say), oldest
 * first. An event counts as got once the webhook has a payload of it, whatever became of that
 * payload (`recover` resends those), so a repeat finds nothing new. A replayed payload carries its
 * event's time as its `createdAt`, as a live one does.
 */
import { type Kysely, sql, type Transaction } from "kysely";
import type { Database, Webhook } from "../db/schema.ts";
import { ALL_EVENTS, TEST_EVENT } from "../domain/event_types.ts";
import { insertPayloads, startSoon } from "./events.ts";
import type { UseCaseDeps } from "./deps.ts";

/** The most payloads one replay creates; a repeat with the same `since` goes on from there. */
export const MAX_REPLAY = 10_000;
/** Payloads written per statement (PostgreSQL takes at most 65,535 parameters in one). */
const INSERT_BATCH = 1_000;

/** The webhook fields a replay reads. */
type ReplayedWebhook = Pick<
  Webhook,
  "id" | "organization_id" | "url" | "event_types" | "created_at" | "ordering"
>;

/**
 * The events of the webhook's organization recorded since `since` and after the webhook's
 * creation, of types it subscribes to, that it has no payload of; test sends are never replayed
 * (each belongs to the one webhook it was sent to).
 */
function missedEvents(
  db: Kysely<Database> | Transaction<Database>,
  webhook: ReplayedWebhook,
  since: number,
) {
  const patterns = webhook.event_types;
  let query = db.selectFrom("events")
    .where("events.organization_id", "=", webhook.organization_id)
    .where("events.created_at", ">=", Math.max(since, webhook.created_at))
    .where("events.type", "<>", TEST_EVENT)
    .where(({ not, exists, selectFrom }) =>
      not(exists(
        selectFrom("payloads").select("payloads.id")
          .whereRef("payloads.event_id", "=", "events.id")
          .where("payloads.webhook_id", "=", webhook.id),
      ))
    );
  if (!patterns.includes(ALL_EVENTS)) {
    // `prefix.*` is every name that starts with `prefix.` (src/domain/event_types.ts).
    query = query.where((eb) =>
      eb.or(
        patterns.map((pattern) =>
          pattern.endsWith(".*")
            ? sql<boolean>`starts_with(events.type, ${pattern.slice(0, -1)})`
            : eb("events.type", "=", pattern)
        ),
      )
    );
  }
  return query;
}

/**
 * How many events a replay since `since` would send now (counted up to MAX_REPLAY + 1, so more
 * than MAX_REPLAY reads as "more than one call sends").
 */
export async function countMissedEvents(
  db: Kysely<Database>,
  webhook: ReplayedWebhook,
  since: number,
): Promise<number> {
  const rows = await missedEvents(db, webhook, since).select("events.id")
    .limit(MAX_REPLAY + 1).execute();
  return rows.length;
}

/**
 * Creates and starts one payload for each event the webhook missed since `since`, oldest first,
 * at most MAX_REPLAY; answers how many, or undefined when the webhook is not active (or gone).
 * The webhook's row is locked meanwhile, so two replays at once never make two payloads of one
 * event.
 */
export async function replayMissedEvents(
  deps: UseCaseDeps,
  webhookId: string,
  since: number,
): Promise<number | undefined> {
  const starts = await deps.db.transaction().execute(async (tx) => {
    const webhook = await tx.selectFrom("webhooks")
      .select(["id", "organization_id", "url", "event_types", "created_at", "status", "ordering"])
      .where("id", "=", webhookId).where("deleted_at", "is", null)
      .forUpdate().executeTakeFirst();
    if (!webhook || webhook.status !== "active") return undefined;
    const events = await missedEvents(tx, webhook, since)
      .select(["events.id", "events.organization_id", "events.type", "events.object"])
      .select(["events.object_id", "events.created_at", "events.seq"])
      .orderBy("events.created_at").orderBy("events.id").limit(MAX_REPLAY).execute();
    const written = [];
    for (let i = 0; i < events.length; i += INSERT_BATCH) {
      const pairs = events.slice(i, i + INSERT_BATCH).map((event) => ({
        event: {
          id: event.id,
          organizationId: event.organization_id,
          type: event.type,
          object: event.object,
          objectId: event.object_id,
          createdAt: event.created_at,
          seq: event.seq,
        },
        webhook,
      }));
      written.push(...await insertPayloads(tx, pairs));
    }
    return written;
  });
  if (!starts) return undefined;
  await startSoon(deps, starts);
  return starts.length;
}

/**
 * What reactivating a deactivated webhook could also send: the events missed since its
 * deactivation (or since the oldest retained time), counted now; undefined unless deactivated.
 */
export async function missedSinceDeactivation(
  db: Kysely<Database>,
  organizationId: string,
  webhookId: string,
  retentionMs: number,
): Promise<{ since: number; count: number } | undefined> {
  const webhook = await db.selectFrom("webhooks").selectAll()
    .where("id", "=", webhookId).where("organization_id", "=", organizationId)
    .where("deleted_at", "is", null).executeTakeFirst();
  if (webhook?.status !== "deactivated" || webhook.deactivated_at === null) return undefined;
  const oldest = retentionMs > 0 ? Date.now() - retentionMs : 0;
  const since = Math.max(webhook.deactivated_at, oldest);
  return { since, count: await countMissedEvents(db, webhook, since) };
}
