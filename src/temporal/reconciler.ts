/** The Temporal Schedule that runs the reconciler every RECONCILE_INTERVAL. */
import { type Client, ScheduleAlreadyRunning } from "@temporalio/client";
import type { reconcile } from "../../workflows/reconcile.ts";
import { log } from "../log.ts";
import { reconcilerScheduleId, reconcilerWorkflowId, WorkflowType } from "./names.ts";

/** Creates the schedule, or updates its interval when it exists. */
export async function ensureReconcilerSchedule(
  client: Client,
  taskQueue: string,
  intervalMs: number,
  graceMs: number,
): Promise<void> {
  const scheduleId = reconcilerScheduleId(taskQueue);
  const action = {
    type: "startWorkflow" as const,
    workflowType: WorkflowType.reconcile,
    taskQueue,
    args: [{ graceMs }] as Parameters<typeof reconcile>,
    workflowId: reconcilerWorkflowId(taskQueue),
    staticSummary: "Finish what a crash or an operator left half done",
  };
  const spec = { intervals: [{ every: intervalMs }] };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies: { overlap: "SKIP", catchupWindow: "1m" },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((previous) => ({
      ...previous,
      spec,
      action,
    })).catch((updateError) =>
      log.warn("could not update the reconciler schedule", { error: String(updateError) })
    );
  }
}
