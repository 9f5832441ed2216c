/** Recording an event and its payloads in one transaction, then starting their deliveries. */
import type { Client } from "@temporalio/client";
import type { Kysely, Transaction } from "kysely";
import type { Database, JsonObject } from "../db/schema.ts";
import { jsonb } from "../db/mod.ts";
import { newId } from "./ids.ts";
import {
  type DeliverySettings,
  type DeliveryStart,
  startDelivery,
} from "../temporal/deliveries.ts";
import { log } from "../log.ts";

/** An event to record. */
export interface NewEvent {
  organizationId: string;
  type: string;
  object: string;
  objectId: string | null;
  objectCreatedAt?: number;
  data: JsonObject;
  idempotencyKey?: string;
  requestHash?: string;
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
    idempotency_key: event.idempotencyKey ?? null,
    request_hash: event.requestHash ?? null,
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

/**
 * Starts the delivery workflows of committed payloads, concurrently. `pauseBeforeMs` is the
 * reliability suite's fault injection: a window in which a test kills the process.
 */
export async function startDeliveries(
  temporal: Client,
  taskQueue: string,
  settings: DeliverySettings,
  payloads: DeliveryStart[],
  pauseBeforeMs = 0,
): Promise<void> {
  if (payloads.length === 0) return;
  if (pauseBeforeMs > 0) await new Promise((r) => setTimeout(r, pauseBeforeMs));
  const results = await Promise.allSettled(
    payloads.map((p) => startDelivery(temporal, taskQueue, settings, p)),
  );
  results.forEach((result, i) => {
    if (result.status === "rejected") {
      // The payload stays pending in the database; the reconciler starts it later.
      log.error("could not start a delivery", {
        payloadId: payloads[i]!.payloadId,
        error: String(result.reason),
      });
    }
  });
}

/** Records an event in its own transaction and starts its deliveries. */
export async function publishEvent(
  db: Kysely<Database>,
  temporal: Client,
  taskQueue: string,
  settings: DeliverySettings,
  event: NewEvent,
): Promise<RecordedEvent> {
  const recorded = await db.transaction().execute((tx) => recordEvent(tx, event));
  await startDeliveries(temporal, taskQueue, settings, recorded.payloads);
  return recorded;
}
