/** Recording an event and its payloads in one transaction, then starting their deliveries. */
import type { Transaction } from "kysely";
import type { Database, JsonObject } from "../db/schema.ts";
import { jsonb } from "../db/mod.ts";
import { newId } from "../domain/ids.ts";
import { type DeliveryStart, startDelivery } from "../temporal/deliveries.ts";
import { log } from "../log.ts";
import type { UseCaseDeps } from "./deps.ts";

/** An event to record. */
export interface NewEvent {
  organizationId: string;
  type: string;
  object: string;
  objectId: string | null;
  objectCreatedAt?: number;
  data: JsonObject;
}

/** What recording an event produced: its id and one payload per active webhook. */
export interface RecordedEvent {
  id: string;
  createdAt: number;
  payloads: DeliveryStart[];
}

/**
 * Writes the event and one `pending` payload per webhook active right now, inside `tx`.
 * The caller starts the deliveries after commit (see `startDeliveries`).
 */
export async function recordEvent(
  tx: Transaction<Database>,
  event: NewEvent,
): Promise<RecordedEvent> {
  const now = Date.now();
  const id = newId("evt");
  await tx.insertInto("events").values({
    id,
    organization_id: event.organizationId,
    type: event.type,
    object: event.object,
    object_id: event.objectId,
    object_created_at: event.objectCreatedAt ?? now,
    data: jsonb(event.data),
    created_at: now,
  }).execute();
  // Webhooks exist only on the business plan: a downgrade stops deliveries at once.
  const webhooks = await tx.selectFrom("webhooks")
    .innerJoin("organizations", "organizations.id", "webhooks.organization_id")
    .select(["webhooks.id", "webhooks.url"])
    .where("webhooks.organization_id", "=", event.organizationId)
    .where("organizations.plan", "=", "business")
    .where("webhooks.status", "=", "active").where("webhooks.deleted_at", "is", null)
    .orderBy("webhooks.created_at").execute();
  const payloads = webhooks.map((webhook) => ({
    payloadId: newId("pl"),
    webhookId: webhook.id,
    organizationId: event.organizationId,
    event: event.type,
    url: webhook.url,
    run: 1,
  }));
  if (payloads.length > 0) {
    await tx.insertInto("payloads").values(payloads.map((p) => ({
      id: p.payloadId,
      event_id: id,
      webhook_id: p.webhookId,
      organization_id: event.organizationId,
      status: "pending" as const,
      run: 1,
      attempt_count: 0,
      created_at: now,
      updated_at: now,
    }))).execute();
  }
  return { id, createdAt: now, payloads };
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
  await markDelivering(deps, started);
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

/** Records an event in its own transaction and starts its deliveries. */
export async function publishEvent(deps: UseCaseDeps, event: NewEvent): Promise<RecordedEvent> {
  const recorded = await deps.db.transaction().execute((tx) => recordEvent(tx, event));
  await startSoon(deps, recorded.payloads);
  return recorded;
}
