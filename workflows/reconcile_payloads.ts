/** The reconciler: started by a Temporal Schedule, it starts deliveries that never started. */
import { proxyActivities } from "@temporalio/workflow";
import type { Activities } from "../workers/activities.ts";

const { startStalledDeliveries } = proxyActivities<Activities>({
  startToCloseTimeout: "2m",
  retry: { maximumAttempts: 3 },
});

/** Starts the workflows of payloads still `pending` after the grace period; returns how many. */
export async function reconcilePayloads(input: { graceMs: number }): Promise<number> {
  return await startStalledDeliveries({ graceMs: input.graceMs, limit: 5_000 });
}
