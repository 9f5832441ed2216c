/**
 * Every change of a webhook's state goes through its lifecycle workflow: the API (or a delivery's
 * compensation, or a downgrade) records a request, then signals it; the workflow applies each
 * request once, in order. A request whose signal was lost is sent again by the reconciler.
 */
import type { Kysely, Transaction } from "kysely";
import type { Database } from "../db/schema.ts";
import { deactivationRequestId, newId, payloadOfRequest } from "../domain/ids.ts";
import {
  type CancelReason,
  type DeactivationReason,
  hasWebhooks,
  OPEN_STATUSES,
  type WebhookChange,
  type WebhookState,
} from "../domain/types.ts";
import type { WebhookRequest } from "../../workflows/types.ts";
import {
  applyWebhookChange,
  type DeliveryStart,
  sendWebhookRequest,
} from "../temporal/deliveries.ts";
import { withinMs } from "../deadline.ts";
import { webhookDeactivated, webhookReactivated } from "../domain/operational_events.ts";
import { recordOperationalEvent, webhookFacts } from "./operational_events.ts";
import { startSoon } from "./events.ts";
import { log } from "../log.ts";
import type { UseCaseDeps } from "./deps.ts";

/** A recorded request and the webhook it is for. */
export interface RecordedRequest extends WebhookRequest {
  webhookId: string;
}

/**
 * Records one request per webhook inside `tx`. A given `id` makes the record idempotent
 * (a compensation retried after a crash records its request once).
 */
export async function recordWebhookRequests(
  tx: Transaction<Database> | Kysely<Database>,
  webhookIds: string[],
  change: WebhookChange,
  id?: string,
): Promise<RecordedRequest[]> {
  if (webhookIds.length === 0) return [];
  const now = Date.now();
  const rows = webhookIds.map((webhookId) => ({
    id: id ?? newId("req"),
    webhook_id: webhookId,
    kind: change.kind,
    reason: change.kind === "deactivate" ? change.reason : null,
    created_at: now,
  }));
  await tx.insertInto("webhook_requests").values(rows)
    .onConflict((oc) => oc.column("id").doNothing()).execute();
  return rows.map((r) => ({ requestId: r.id, webhookId: r.webhook_id, change }));
}

/** Signals recorded requests; a failed signal is logged and left to the reconciler. */
export async function sendWebhookRequests(
  deps: UseCaseDeps,
  requests: RecordedRequest[],
): Promise<void> {
  await Promise.all(requests.map(async ({ webhookId, requestId, change }) => {
    try {
      await sendWebhookRequest(deps.temporal, deps.taskQueue, webhookId, { requestId, change });
    } catch (err) {
      log.error("could not signal a webhook's lifecycle; the reconciler sends it again", {
        webhookId,
        requestId,
        error: String(err),
      });
    }
  }));
}

/** How long a change asked by the API may take to apply before the API answers 202. */
export const LIFECYCLE_WAIT_MS = 5_000;

/**
 * Records one change of one webhook and asks its lifecycle workflow to apply it, answering with
 * the state applied; undefined when it was not applied within LIFECYCLE_WAIT_MS (the workflow
 * still applies it, or the reconciler sends the recorded request again).
 */
export async function requestWebhookChange(
  deps: UseCaseDeps,
  webhookId: string,
  change: WebhookChange,
): Promise<WebhookState | undefined> {
  const [request] = await recordWebhookRequests(deps.db, [webhookId], change);
  try {
    return await withinMs(
      applyWebhookChange(deps.temporal, deps.taskQueue, webhookId, {
        requestId: request!.requestId,
        change,
      }),
      LIFECYCLE_WAIT_MS,
      "the webhook's lifecycle workflow",
    );
  } catch (err) {
    log.warn("a webhook change is not applied yet; the reconciler sends it again if needed", {
      webhookId,
      requestId: request!.requestId,
      error: String(err),
    });
    return undefined;
  }
}

/** A payload's failed run asks for its webhook's deactivation (the compensation). */
export interface DeactivationRequest {
  webhookId: string;
  reason: DeactivationReason;
  payloadId: string;
  run: number;
}

/**
 * Records and signals the deactivation a failed run asks for, once per run (the request's id is
 * the run's); a signal that fails throws, so the activity is tried again.
 */
export async function requestDeactivation(
  deps: UseCaseDeps,
  input: DeactivationRequest,
): Promise<void> {
  const [request] = await recordWebhookRequests(
    deps.db,
    [input.webhookId],
    { kind: "deactivate", reason: input.reason },
    deactivationRequestId(input.payloadId, input.run),
  );
  await sendWebhookRequest(deps.temporal, deps.taskQueue, input.webhookId, request!);
}

/** The webhook columns an operational event about a lifecycle change tells. */
const TOLD = ["id", "organization_id", "name", "url", "created_at"] as const;

/**
 * Applies one request, once: a request already applied (sent again by the reconciler) changes
 * nothing. Deactivation keeps the first reason and cancels the webhook's open payloads;
 * reactivation is refused while the organization is off the business plan. A change of state
 * records its operational event (`webhook.deactivated`, `webhook.reactivated`) in the same
 * transaction, so it is told exactly once; with `deps` its deliveries start at once, else the
 * reconciler starts them. `wake` is handed the ordered payloads it cancelled (their deliveries may
 * be waiting for their turn).
 */
export async function applyWebhookRequest(
  db: Kysely<Database>,
  webhookId: string,
  request: WebhookRequest,
  deps?: UseCaseDeps,
  wake?: (payloadIds: string[]) => Promise<void>,
): Promise<WebhookState> {
  const { change } = request;
  const now = Date.now();
  let cancelled: string[] = [];
  const told = await db.transaction().execute(async (tx) => {
    const claimed = await tx.updateTable("webhook_requests").set({ applied_at: now })
      .where("id", "=", request.requestId).where("applied_at", "is", null)
      .returning("id").executeTakeFirst();
    if (!claimed) return [];
    let starts: DeliveryStart[] = [];
    if (change.kind === "deactivate") {
      const changed = await tx.updateTable("webhooks")
        .set({
          status: "deactivated",
          deactivation_reason: change.reason,
          deactivated_at: now,
          updated_at: now,
        })
        .where("id", "=", webhookId).where("status", "=", "active")
        .where("deleted_at", "is", null).returning(TOLD).executeTakeFirst();
      if (changed) {
        const cause = payloadOfRequest(request.requestId);
        const event = webhookDeactivated(webhookFacts(changed), change.reason, cause, now);
        starts = await recordOperationalEvent(tx, event, changed.organization_id);
      }
    } else if (change.kind === "reactivate") {
      const org = await tx.selectFrom("webhooks")
        .innerJoin("organizations", "organizations.id", "webhooks.organization_id")
        .select("organizations.plan").where("webhooks.id", "=", webhookId).executeTakeFirst();
      if (org && hasWebhooks(org.plan)) {
        const changed = await tx.updateTable("webhooks")
          .set({
            status: "active",
            deactivation_reason: null,
            deactivated_at: null,
            updated_at: now,
          })
          .where("id", "=", webhookId).where("deleted_at", "is", null)
          .where("status", "=", "deactivated").returning(TOLD).executeTakeFirst();
        if (changed) {
          const event = webhookReactivated(webhookFacts(changed), now);
          starts = await recordOperationalEvent(tx, event, changed.organization_id);
        }
      }
    } else {
      await tx.updateTable("webhooks").set({ deleted_at: now, updated_at: now })
        .where("id", "=", webhookId).where("deleted_at", "is", null).execute();
    }
    if (change.kind !== "reactivate") {
      const reason: CancelReason = change.kind === "delete"
        ? "webhook_deleted"
        : "webhook_deactivated";
      const rows = await tx.updateTable("payloads")
        .set({ status: "cancelled", cancel_reason: reason, finished_at: now, updated_at: now })
        .where("webhook_id", "=", webhookId).where("status", "in", OPEN_STATUSES)
        .returning(["id", "order_key"]).execute();
      cancelled = rows.filter((r) => r.order_key !== null).map((r) => r.id);
    }
    return starts;
  });
  // Ordered payloads waiting for their turn end now rather than at their next timer.
  if (wake && cancelled.length > 0) await wake(cancelled);
  if (deps) await startSoon(deps, told);
  const row = await db.selectFrom("webhooks")
    .select(["status", "deactivation_reason", "deleted_at"])
    .where("id", "=", webhookId).executeTakeFirst();
  if (!row || row.deleted_at !== null) return { status: "deleted", deactivationReason: null };
  return { status: row.status, deactivationReason: row.deactivation_reason };
}
