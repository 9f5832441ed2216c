/** Resending payloads that ended failed or cancelled: a new run of the same payload. */
import type { Client } from "@temporalio/client";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.ts";
import { type DeliverySettings, type DeliveryStart } from "../temporal/deliveries.ts";
import { startDeliveries } from "./events.ts";

/** Statuses a payload can be resent from. */
export const RESENDABLE = ["failed", "cancelled"] as const;

/** The most payloads one recover call resends. */
export const MAX_RECOVER = 10_000;

/**
 * Moves the given payloads (of one active webhook) to a new pending run and starts their
 * deliveries; attempts are numbered from 1 again. Returns the payloads it restarted.
 */
export async function resendPayloads(
  db: Kysely<Database>,
  temporal: Client,
  taskQueue: string,
  settings: DeliverySettings,
  payloadIds: string[],
): Promise<DeliveryStart[]> {
  if (payloadIds.length === 0) return [];
  const now = Date.now();
  const starts: DeliveryStart[] = [];
  for (let i = 0; i < payloadIds.length; i += 1000) {
    const rows = await db.updateTable("payloads")
      .set((eb) => ({
        run: eb("run", "+", 1),
        status: "pending",
        attempt_count: 0,
        first_sent_at: null,
        finished_at: null,
        updated_at: now,
      }))
      .from("webhooks")
      .whereRef("webhooks.id", "=", "payloads.webhook_id")
      .where("payloads.id", "in", payloadIds.slice(i, i + 1000))
      .where("payloads.status", "in", RESENDABLE)
      .returning([
        "payloads.id",
        "payloads.run",
        "payloads.webhook_id",
        "payloads.organization_id",
        "payloads.event_id",
        "webhooks.url",
      ])
      .execute();
    const events = rows.length
      ? await db.selectFrom("events").select(["id", "type"])
        .where("id", "in", [...new Set(rows.map((r) => r.event_id))]).execute()
      : [];
    const typeOf = new Map(events.map((e) => [e.id, e.type]));
    for (const row of rows) {
      starts.push({
        payloadId: row.id,
        webhookId: row.webhook_id,
        organizationId: row.organization_id,
        event: typeOf.get(row.event_id) ?? "unknown",
        url: row.url,
        run: row.run,
      });
    }
  }
  await startDeliveries(temporal, taskQueue, settings, starts);
  return starts;
}
