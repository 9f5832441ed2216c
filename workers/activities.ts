/** The worker's activities: thin adapters over the use cases, built from their dependencies. */
import { ApplicationFailure, Context } from "@temporalio/activity";
import type { DeliveryOutcome } from "../src/domain/types.ts";
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
  deactivateOffPlanWebhooks,
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
import {
  applyWebhookRequest,
  type DeactivationRequest,
  requestDeactivation,
} from "../src/usecases/webhook_changes.ts";
import { untilCancelled } from "./cancellation.ts";
import {
  type AttemptInput,
  type AttemptRecord,
  type AttemptResult,
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
    recordAttempt: (record: AttemptRecord): Promise<void> => recordAttempt(deps, record),

    /** Records how the run ended; a payload that ended otherwise meanwhile keeps its status. */
    finishDelivery: (input: FinishInput): Promise<DeliveryOutcome> => finishDelivery(deps, input),
  };
}

/** A webhook's changes, and the turns of ordered payloads. */
function lifecycleActivities(deps: ActivityDeps) {
  return {
    /** Compensation: records and signals the webhook's deactivation, once per run. */
    requestDeactivation: (input: DeactivationRequest): Promise<void> =>
      requestDeactivation(deps, input),

    /** Applies one lifecycle request to the database, once. */
    applyWebhookRequest: (input: { webhookId: string; request: WebhookRequest }) =>
      applyWebhookRequest(
        deps.db,
        input.webhookId,
        input.request,
        undefined,
        (payloadIds) => wakeCancelled(deps, payloadIds),
      ),

    /** Ordering: whether an ordered payload may make its first attempt now. */
    turnOf: (input: { payloadId: string; run: number }): Promise<Turn> => turnOf(deps, input),

    /** Ordering: wakes the next open payload of the same object, once this one has ended. */
    releaseSuccessor: (input: { payloadId: string }): Promise<void> =>
      releaseSuccessor(deps, input.payloadId),
  };
}

/** What the reconciler and retention run on their schedules. */
function scheduledActivities(deps: ActivityDeps) {
  const heartbeat = () => Context.current().heartbeat();
  return {
    /** Reconciler: starts payloads left pending. */
    startPendingDeliveries: (input: { graceMs: number }): Promise<number> =>
      startPendingDeliveries(deps, input.graceMs, heartbeat),

    /** Reconciler: ends `cancelled` the payloads of terminated deliveries. */
    settleClosedDeliveries: (): Promise<number> => settleClosedDeliveries(deps, heartbeat),

    /** Reconciler: sends lost webhook change requests again. */
    resendWebhookRequests: (input: { graceMs: number }): Promise<number> =>
      resendWebhookRequests(deps, input.graceMs, heartbeat),

    /** Reconciler: deactivates the webhooks an organization off the business plan still has. */
    deactivateOffPlanWebhooks: (): Promise<number> => deactivateOffPlanWebhooks(deps),

    /** Retention: deletes old final payloads, their attempts and old events, in batches. */
    async deleteExpiredRows(request: RetentionRequest): Promise<RetentionProgress> {
      const context = Context.current();
      // A retry goes on from the last batch its previous try heartbeated.
      const resumed = context.info.heartbeatDetails as RetentionPosition | null | undefined;
      const from = resumed ? { ...request, position: resumed } : request;
      return await deleteExpiredRows(deps.db, from, (position) => context.heartbeat(position));
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

/** The activities' type, imported by workflows as a type only. */
export type Activities = ReturnType<typeof createActivities>;
