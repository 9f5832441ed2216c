/** The worker's activities: thin adapters over the use cases, built from their dependencies. */
import { ApplicationFailure, Context } from "@temporalio/activity";
import type { DeliveryOutcome } from "../src/domain/types.ts";
import { sendWebhookRequest } from "../src/temporal/deliveries.ts";
import {
  attemptDelivery,
  type Destination,
  finishDelivery,
  HeraldUnavailable,
  recordAttempt,
} from "../src/usecases/attempts.ts";
import type { UseCaseDeps } from "../src/usecases/deps.ts";
import { releaseSuccessor, turnOf, wakeCancelled } from "../src/usecases/ordering.ts";
import {
  resendWebhookRequests,
  settleClosedDeliveries,
  startPendingDeliveries,
} from "../src/usecases/reconcile.ts";
import {
  deleteExpiredRows,
  type RetentionPosition,
  type RetentionProgress,
  type RetentionRequest,
} from "../src/usecases/retention.ts";
import { applyWebhookRequest, recordWebhookRequests } from "../src/usecases/webhook_changes.ts";
import {
  type AttemptInput,
  type AttemptRecord,
  type AttemptResult,
  type DeactivationReason,
  ErrorType,
  type FinishInput,
  type Turn,
  type WebhookRequest,
} from "../workflows/types.ts";

/** What the activities need from the outside world. */
export interface ActivityDeps extends UseCaseDeps {
  /** Where attempts send (workers/send.ts: HTTP through the egress proxy). */
  destination: Destination;
}

/** The attempt and how a run ends. */
function deliveryActivities(deps: ActivityDeps) {
  const attemptDeps = {
    db: deps.db,
    destination: deps.destination,
    workflowId: () => Context.current().info.workflowExecution?.workflowId,
  };
  return {
    /** One POST of a payload, at most once per (payload, run, number), or a wait for its pace. */
    async attemptDelivery(input: AttemptInput): Promise<AttemptResult> {
      try {
        return await attemptDelivery(attemptDeps, input);
      } catch (err) {
        // Herald's own infrastructure failed before sending: retried, never counted.
        if (err instanceof HeraldUnavailable) {
          throw ApplicationFailure.retryable(err.message, ErrorType.HeraldUnavailable);
        }
        throw err;
      }
    },

    /** Records an attempt whose outcome the attempt itself could not write. */
    async recordAttempt(record: AttemptRecord): Promise<void> {
      await recordAttempt(deps, record);
    },

    /** Records how the run ended; a payload that ended otherwise meanwhile keeps its status. */
    async finishDelivery(input: FinishInput): Promise<DeliveryOutcome> {
      return await finishDelivery(deps, input);
    },
  };
}

/** A webhook's changes, and the turns of ordered payloads. */
function lifecycleActivities(deps: ActivityDeps) {
  const { db } = deps;
  return {
    /** Compensation: records and signals the webhook's deactivation, once per run. */
    async requestDeactivation(
      input: { webhookId: string; reason: DeactivationReason; payloadId: string; run: number },
    ): Promise<void> {
      const [request] = await recordWebhookRequests(
        db,
        [input.webhookId],
        { kind: "deactivate", reason: input.reason },
        `req_${input.payloadId}_${input.run}`,
      );
      await sendWebhookRequest(deps.temporal, deps.taskQueue, input.webhookId, request!);
    },

    /** Applies one lifecycle request to the database, once. */
    async applyWebhookRequest(input: { webhookId: string; request: WebhookRequest }) {
      return await applyWebhookRequest(
        db,
        input.webhookId,
        input.request,
        undefined,
        (payloadIds) => wakeCancelled(deps, payloadIds),
      );
    },

    /** Ordering: whether an ordered payload may make its first attempt now. */
    async turnOf(input: { payloadId: string; run: number }): Promise<Turn> {
      return await turnOf(deps, input);
    },

    /** Ordering: wakes the next open payload of the same object, once this one has ended. */
    async releaseSuccessor(input: { payloadId: string }): Promise<void> {
      await releaseSuccessor(deps, input.payloadId);
    },
  };
}

/** What the reconciler and retention run on their schedules. */
function scheduledActivities(deps: ActivityDeps) {
  const { db } = deps;
  const heartbeat = () => Context.current().heartbeat();
  return {
    /** Reconciler: starts payloads left pending. */
    async startPendingDeliveries(input: { graceMs: number }): Promise<number> {
      return await startPendingDeliveries(deps, input.graceMs, heartbeat);
    },

    /** Reconciler: ends `cancelled` the payloads of terminated deliveries. */
    async settleClosedDeliveries(): Promise<number> {
      return await settleClosedDeliveries(deps, heartbeat);
    },

    /** Reconciler: sends lost webhook change requests again, and enforces the plan rule. */
    async resendWebhookRequests(input: { graceMs: number }): Promise<number> {
      return await resendWebhookRequests(deps, input.graceMs, heartbeat);
    },

    /** Retention: deletes old final payloads, their attempts and old events, in batches. */
    async deleteExpiredRows(request: RetentionRequest): Promise<RetentionProgress> {
      const context = Context.current();
      // A retry goes on from the last batch its previous try heartbeated.
      const resumed = context.info.heartbeatDetails as RetentionPosition | null | undefined;
      return await deleteExpiredRows(
        db,
        resumed ? { ...request, position: resumed } : request,
        (position) => context.heartbeat(position),
      );
    },
  };
}

/** Builds the activities over their dependencies. */
export function createActivities(deps: ActivityDeps) {
  return untilCancelled({
    ...deliveryActivities(deps),
    ...lifecycleActivities(deps),
    ...scheduledActivities(deps),
  });
}

/**
 * Each activity ends when it is cancelled (a worker's stop, past its grace time), even while it
 * waits on a database connection that died: a hung query must not hold the worker's stop.
 */
// deno-lint-ignore no-explicit-any
function untilCancelled<T extends Record<string, (...args: any[]) => Promise<unknown>>>(
  activities: T,
): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, run]) => [
      name,
      // deno-lint-ignore no-explicit-any
      (...args: any[]) => Promise.race([run(...args), Context.current().cancelled]),
    ]),
  ) as T;
}

/** The activities' type, imported by workflows as a type only. */
export type Activities = ReturnType<typeof createActivities>;
