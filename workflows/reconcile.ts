/**
 * The reconciler, run by a Temporal Schedule: it finishes what a crash or an operator left
 * half done. Each sweep goes on from a cursor kept in the database, so none can starve.
 */
import { proxyActivities } from "@temporalio/workflow";
import type { Activities } from "../workers/activities.ts";

const sweeps = proxyActivities<Activities>({
  startToCloseTimeout: "2m",
  heartbeatTimeout: "30s",
  retry: { maximumAttempts: 3 },
});

/** What each sweep did. */
export interface ReconcileResult {
  started: number;
  settled: number;
  resentRequests: number;
  offPlanDeactivated: number;
}

/**
 * Starts payloads left pending, settles deliveries ended from outside, resends lost requests, and
 * deactivates the webhooks an organization off the business plan still has.
 */
export async function reconcile(input: { graceMs: number }): Promise<ReconcileResult> {
  const started = await sweeps.startPendingDeliveries({ graceMs: input.graceMs });
  const settled = await sweeps.settleClosedDeliveries();
  const resentRequests = await sweeps.resendWebhookRequests({ graceMs: input.graceMs });
  const offPlanDeactivated = await sweeps.deactivateOffPlanWebhooks();
  return { started, settled, resentRequests, offPlanDeactivated };
}
