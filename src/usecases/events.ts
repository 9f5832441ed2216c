/** Recording an event and its payloads in one transaction, then starting their deliveries. */
import { WEBHOOK_PLAN } from "../domain/types.ts";
import { sql, type Transaction } from "kysely";
import type { Database, JsonObject, Webhook } from "../db/schema.ts";
import { jsonb } from "../db/mod.ts";
import { newId } from "../domain/ids.ts";
import { patternsMatching, testEventOf } from "../domain/event_types.ts";
import { type Ordering, orderKeyOf } from "../domain/ordering.ts";
import { type DeliveryStart, deliveryStartOf, startDelivery } from "../temporal/deliveries.ts";
import { log } from "../log.ts";
import type { UseCaseDeps } from "./deps.ts";
import { wakeCancelled } from "./ordering.ts";

/** An event to record. */
export interface NewEvent {
  organizationId: string;
  type: string;
  object: string;
  objectId: string | null;
  objectCreatedAt?: number;
  data: JsonObject;
}

/** What recording an event produced: its id and one payload per webhook it reaches. */
export interface RecordedEvent {
  id: string;
  createdAt: number;
  payloads: DeliveryStart[];
}

/** Rows per organization and event type in `event_type_counts` (the list sums them). */
const COUNT_SHARDS = 8;

/**
 * Writes the event, one `pending` payload per webhook active right now and subscribed to its type,
 * and the event type's count, inside `tx`. The caller starts the deliveries after commit (see
 * `startDeliveries`).
 */
export async function recordEvent(
  tx: Transaction<Database>,
  event: NewEvent,
): Promise<RecordedEvent> {
  // Subscribed: its event types hold one of the patterns this type matches (a jsonb `?|`).
  const matching = patternsMatching(event.type);
  // Webhooks exist only on the business plan: a downgrade stops deliveries at once.
  const webhooks = await tx.selectFrom("webhooks")
    .innerJoin("organizations", "organizations.id", "webhooks.organization_id")
    .select(["webhooks.id", "webhooks.url", "webhooks.ordering"])
    .where("webhooks.organization_id", "=", event.organizationId)
    .where("organizations.plan", "=", WEBHOOK_PLAN)
    .where("webhooks.status", "=", "active").where("webhooks.deleted_at", "is", null)
    .where(sql<boolean>`webhooks.event_types ?| array[${sql.join(matching)}]::text[]`)
    .orderBy("webhooks.created_at").execute();
  if (event.objectId !== null && webhooks.some((w) => w.ordering === "object")) {
    // The events of one object take their sequence numbers in the order they commit, so an
    // ordered payload never finds its predecessor still uncommitted.
    const object = `${event.organizationId}:${event.object}:${event.objectId}`;
    await sql`select pg_advisory_xact_lock(hashtextextended(${object}, 0))`.execute(tx);
  }
  const { id, createdAt, seq } = await insertEvent(tx, event);
  const recorded = { ...event, id, createdAt, seq };
  const payloads = await insertPayloads(
    tx,
    webhooks.map((webhook) => ({ event: recorded, webhook })),
  );
  // The count goes last, so its row is locked only until commit; one of several rows per type,
  // so events of one type recorded at the same moment seldom wait for each other.
  await tx.insertInto("event_type_counts")
    .values({
      organization_id: event.organizationId,
      name: event.type,
      shard: Math.floor(Math.random() * COUNT_SHARDS),
      count: 1,
      last_seen_at: createdAt,
    })
    .onConflict((oc) =>
      oc.columns(["organization_id", "name", "shard"]).doUpdateSet({
        count: sql`event_type_counts.count + 1`,
        last_seen_at: sql`greatest(event_type_counts.last_seen_at, excluded.last_seen_at)`,
      })
    ).execute();
  return { id, createdAt, payloads };
}

/** Writes an event row; `createdAt` is now, `seq` its place in the order of all events. */
async function insertEvent(
  tx: Transaction<Database>,
  event: NewEvent,
): Promise<{ id: string; createdAt: number; seq: number }> {
  const now = Date.now();
  const id = newId("evt");
  const { seq } = await tx.insertInto("events").values({
    id,
    organization_id: event.organizationId,
    type: event.type,
    object: event.object,
    object_id: event.objectId,
    object_created_at: event.objectCreatedAt ?? now,
    data: jsonb(event.data),
    created_at: now,
  }).returning("seq").executeTakeFirstOrThrow();
  return { id, createdAt: now, seq };
}

/** The event a payload is written for. */
export interface PayloadEvent {
  id: string;
  organizationId: string;
  type: string;
  object: string;
  objectId: string | null;
  /** When the event was recorded: its payloads' `createdAt`, a replayed one's too. */
  createdAt: number;
  /** Its place in the order events were recorded in. */
  seq: number;
}

/** The webhook a payload is written for. */
export interface PayloadWebhook {
  id: string;
  url: string;
  /** Absent for a test send, which is never ordered. */
  ordering?: Ordering;
}

/**
 * Writes one `pending` payload per (event, webhook) pair and answers what starts them. Every
 * payload is written here: an event's, a test send's, a replay's.
 */
export async function insertPayloads(
  tx: Transaction<Database>,
  pairs: Array<{ event: PayloadEvent; webhook: PayloadWebhook }>,
): Promise<DeliveryStart[]> {
  const now = Date.now();
  const keys = pairs.map(({ event, webhook }) => orderKeyOf(webhook.ordering ?? "none", event));
  const payloads = pairs.map(({ event, webhook }, i) =>
    deliveryStartOf({
      id: newId("pl"),
      webhook_id: webhook.id,
      organization_id: event.organizationId,
      type: event.type,
      url: webhook.url,
      run: 1,
      order_key: keys[i]!,
    })
  );
  if (payloads.length > 0) {
    await tx.insertInto("payloads").values(payloads.map((p, i) => ({
      id: p.payloadId,
      event_id: pairs[i]!.event.id,
      webhook_id: p.webhookId,
      organization_id: p.organizationId,
      status: "pending" as const,
      run: 1,
      attempt_count: 0,
      created_at: pairs[i]!.event.createdAt,
      updated_at: now,
      order_key: keys[i]!,
      seq: keys[i] === null ? null : pairs[i]!.event.seq,
    }))).execute();
  }
  return payloads;
}

/** How many workflow starts one call makes at once. */
const START_CONCURRENCY = 32;

/**
 * Starts the delivery workflows of committed payloads and marks them `delivering`. A start that
 * fails leaves its payload `pending`: the reconciler starts it later.
 */
export async function startDeliveries(deps: UseCaseDeps, payloads: DeliveryStart[]): Promise<void> {
  if (payloads.length === 0) return;
  await deps.beforeStart?.();
  const started: string[] = [];
  let next = 0;
  const startNext = async (): Promise<void> => {
    while (next < payloads.length) {
      const payload = payloads[next++]!;
      try {
        if (await startDelivery(deps.temporal, deps.taskQueue, deps.delivery, payload)) {
          started.push(payload.payloadId);
        }
      } catch (err) {
        log.error("could not start a delivery", {
          payloadId: payload.payloadId,
          error: String(err),
        });
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(START_CONCURRENCY, payloads.length) }, startNext),
  );
  const busy = payloads.filter((p) => p.ordered && !started.includes(p.payloadId));
  if (busy.length > 0) started.push(...await startAfterPreviousRuns(deps, busy));
  await markDelivering(deps, started);
}

/** How often, and how far apart, a start waits for a previous run's delivery to end. */
const PREVIOUS_RUN_TRIES = 6;
const PREVIOUS_RUN_PAUSE_MS = 500;

/**
 * Ordered payloads resent while their previous run's delivery still waits for its turn (it ends
 * at its next look, the payload being no longer open at that run): wakes those deliveries so they
 * end now, and starts the new runs once they have. What is still open after a few seconds is left
 * `pending` for the reconciler.
 */
async function startAfterPreviousRuns(
  deps: UseCaseDeps,
  payloads: DeliveryStart[],
): Promise<string[]> {
  await wakeCancelled(deps, payloads.map((p) => p.payloadId));
  const started: string[] = [];
  let left = payloads;
  for (let i = 0; i < PREVIOUS_RUN_TRIES && left.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, PREVIOUS_RUN_PAUSE_MS));
    const still: DeliveryStart[] = [];
    for (const payload of left) {
      try {
        if (await startDelivery(deps.temporal, deps.taskQueue, deps.delivery, payload)) {
          started.push(payload.payloadId);
        } else still.push(payload);
      } catch (err) {
        log.error("could not start a delivery", {
          payloadId: payload.payloadId,
          error: String(err),
        });
      }
    }
    left = still;
  }
  return started;
}

/** Moves started payloads from `pending` to `delivering` (the first attempt does it too). */
async function markDelivering(deps: UseCaseDeps, payloadIds: string[]): Promise<void> {
  if (payloadIds.length === 0) return;
  try {
    await deps.db.updateTable("payloads").set({ status: "delivering" })
      .where("id", "in", payloadIds).where("status", "=", "pending").execute();
  } catch (err) {
    // Their workflows run; each one's first attempt marks it.
    log.warn("could not mark payloads delivering", {
      count: payloadIds.length,
      error: String(err),
    });
  }
}

/**
 * Has committed payloads' workflows started: by the starter behind the answer where there is one
 * (the API), else now. Either way a payload left `pending` by a crash is the reconciler's.
 */
export async function startSoon(deps: UseCaseDeps, payloads: DeliveryStart[]): Promise<void> {
  if (deps.starter) await deps.starter.enqueue(payloads);
  else await startDeliveries(deps, payloads);
}

/**
 * Records a test send in its own transaction, a `webhook.test` event and its one payload for
 * `webhook` whatever its event types (not counted among the organization's event types), and
 * starts its delivery.
 */
export async function sendTestEvent(
  deps: UseCaseDeps,
  webhook: Pick<Webhook, "id" | "organization_id" | "url" | "created_at" | "status">,
): Promise<{ kind: "sent"; payload: DeliveryStart } | { kind: "inactive" }> {
  // A deactivated webhook receives nothing, a test included: it is activated first.
  if (webhook.status !== "active") return { kind: "inactive" };
  const event = {
    organizationId: webhook.organization_id,
    ...testEventOf({ id: webhook.id, createdAt: webhook.created_at }),
  };
  const [payload] = await deps.db.transaction().execute(async (tx) => {
    const recorded = await insertEvent(tx, event);
    return await insertPayloads(tx, [{ event: { ...event, ...recorded }, webhook }]);
  });
  await startSoon(deps, [payload!]);
  return { kind: "sent", payload: payload! };
}
