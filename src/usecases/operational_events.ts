/**
 * Emitting operational events: each is an event of the platform organization, recorded with its
 * payloads in the transaction of what it tells (a lifecycle change) or once per failed run, and
 * delivered like any payload. Events about the platform's own webhooks are never emitted.
 */
import type { Transaction } from "kysely";
import type { Database } from "../db/schema.ts";
import {
  type OperationalEvent,
  payloadFailed,
  PLATFORM_ORGANIZATION_ID,
  type WebhookFacts,
} from "../domain/operational_events.ts";
import { TEST_EVENT } from "../domain/event_types.ts";
import { redactUrlsIn } from "../domain/url_policy.ts";
import type { DeliveryStart } from "../temporal/deliveries.ts";
import { recordEvent, startSoon } from "./events.ts";
import type { UseCaseDeps } from "./deps.ts";

/** A webhook row as operational events describe it. */
export function webhookFacts(row: {
  id: string;
  organization_id: string;
  name: string;
  url: string;
  created_at: number;
}): WebhookFacts {
  return {
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    url: row.url,
    createdAt: row.created_at,
  };
}

/**
 * Records an operational event inside `tx` (nothing when it is about the platform's own webhook)
 * and answers the payloads to start after commit.
 */
export async function recordOperationalEvent(
  tx: Transaction<Database>,
  event: OperationalEvent,
  aboutOrganization: string,
): Promise<DeliveryStart[]> {
  if (aboutOrganization === PLATFORM_ORGANIZATION_ID) return [];
  const recorded = await recordEvent(tx, { organizationId: PLATFORM_ORGANIZATION_ID, ...event });
  return recorded.payloads;
}

/**
 * Emits `payload.failed` for a payload whose run ended `failed`, once per run however often it is
 * called (an activity retried after a crash calls it again). Nothing for a payload that is not
 * `failed` now, for a test send (its owner sees the result; it never deactivates), or for the
 * platform's own webhooks.
 */
export async function emitPayloadFailed(deps: UseCaseDeps, payloadId: string): Promise<void> {
  const starts = await deps.db.transaction().execute(async (tx) => {
    const row = await tx.selectFrom("payloads")
      .innerJoin("webhooks", "webhooks.id", "payloads.webhook_id")
      .innerJoin("events", "events.id", "payloads.event_id")
      .select([
        "payloads.status",
        "payloads.run",
        "payloads.attempt_count",
        "payloads.created_at",
        "payloads.finished_at",
        "events.type",
        "webhooks.id as webhook_id",
        "webhooks.organization_id",
        "webhooks.name",
        "webhooks.url",
        "webhooks.created_at as webhook_created_at",
      ])
      .where("payloads.id", "=", payloadId).executeTakeFirst();
    if (!row || row.status !== "failed" || row.type === TEST_EVENT) return [];
    if (row.organization_id === PLATFORM_ORGANIZATION_ID) return [];
    // The platform's key of this run: a second call finds it and records nothing.
    const claimed = await tx.insertInto("idempotency_keys").values({
      organization_id: PLATFORM_ORGANIZATION_ID,
      key: `payload.failed:${payloadId}:${row.run}`,
      request_hash: "",
      event_id: null,
      created_at: Date.now(),
    }).onConflict((oc) => oc.columns(["organization_id", "key"]).doNothing())
      .returning("key").executeTakeFirst();
    if (!claimed) return [];
    const last = await tx.selectFrom("attempts")
      .select(["number", "response_status", "error", "started_at"])
      .where("payload_id", "=", payloadId).where("run", "=", row.run)
      .orderBy("number", "desc").limit(1).executeTakeFirst();
    const webhook = webhookFacts({
      id: row.webhook_id,
      organization_id: row.organization_id,
      name: row.name,
      url: row.url,
      created_at: row.webhook_created_at,
    });
    const event = payloadFailed(webhook, {
      id: payloadId,
      createdAt: row.created_at,
      event: row.type,
      run: row.run,
      finishedAt: row.finished_at ?? Date.now(),
      attempts: row.attempt_count,
      lastAttempt: last
        ? {
          number: last.number,
          status: last.response_status,
          error: last.error === null ? null : redactUrlsIn(last.error),
          at: last.started_at,
        }
        : null,
    });
    return await recordOperationalEvent(tx, event, row.organization_id);
  });
  await startSoon(deps, starts);
}
