/** Resending payloads that ended failed or cancelled: a new run of the same payload. */
import { RESENDABLE_STATUSES } from "../domain/types.ts";
import { type DeliveryStart, deliveryStartOf, isDeliveryOpen } from "../temporal/deliveries.ts";
import { startSoon } from "./events.ts";
import type { UseCaseDeps } from "./deps.ts";

/** The most payloads one recover call resends. */
export const MAX_RECOVER = 10_000;

/** Why a resend was refused. */
export type ResendRefusal = "not_final" | "delivery_running";

/**
 * Resends one payload. Refused while its status is not final, or while the workflow of its
 * previous run is still open (it ends at its next wake-up, within one retry interval).
 */
export async function resendPayload(
  deps: UseCaseDeps,
  payloadId: string,
): Promise<DeliveryStart | ResendRefusal> {
  if (await isDeliveryOpen(deps.temporal, payloadId)) return "delivery_running";
  const [started] = await resendPayloads(deps, [payloadId]);
  return started ?? "not_final";
}

/**
 * Moves the given payloads to a new `pending` run and starts their deliveries; attempts are
 * numbered from 1 again. A payload whose previous run's workflow is still open stays pending
 * until the reconciler can start it. Returns the payloads moved.
 */
export async function resendPayloads(
  deps: UseCaseDeps,
  payloadIds: string[],
): Promise<DeliveryStart[]> {
  const { db } = deps;
  const now = Date.now();
  const starts: DeliveryStart[] = [];
  for (let i = 0; i < payloadIds.length; i += 1000) {
    const rows = await db.updateTable("payloads")
      .set((eb) => ({
        run: eb("payloads.run", "+", 1),
        status: "pending",
        attempt_count: 0,
        first_sent_at: null,
        finished_at: null,
        cancel_reason: null,
        updated_at: now,
      }))
      .from("webhooks")
      .whereRef("webhooks.id", "=", "payloads.webhook_id")
      .where("payloads.id", "in", payloadIds.slice(i, i + 1000))
      .where("payloads.status", "in", RESENDABLE_STATUSES)
      .returning([
        "payloads.id",
        "payloads.run",
        "payloads.webhook_id",
        "payloads.organization_id",
        "payloads.event_id",
        "payloads.order_key",
        "webhooks.url",
      ])
      .execute();
    const events = rows.length
      ? await db.selectFrom("events").select(["id", "type"])
        .where("id", "in", [...new Set(rows.map((r) => r.event_id))]).execute()
      : [];
    const typeOf = new Map(events.map((e) => [e.id, e.type]));
    for (const row of rows) {
      starts.push(deliveryStartOf({ ...row, type: typeOf.get(row.event_id) ?? "unknown" }));
    }
  }
  await startSoon(deps, starts);
  return starts;
}

/** Resends every failed or cancelled payload of a webhook created since `since` (at most 10,000). */
export async function recoverPayloads(
  deps: UseCaseDeps,
  webhookId: string,
  since: number,
): Promise<number> {
  const rows = await deps.db.selectFrom("payloads").select("id")
    .where("webhook_id", "=", webhookId).where("status", "in", RESENDABLE_STATUSES)
    .where("created_at", ">=", since).orderBy("created_at").limit(MAX_RECOVER).execute();
  return (await resendPayloads(deps, rows.map((r) => r.id))).length;
}
