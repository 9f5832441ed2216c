/** The Temporal Schedule that runs the reconciler every RECONCILE_INTERVAL. */
import type { Client } from "@temporalio/client";
import type { reconcile } from "../../workflows/reconcile.ts";
import { reconcilerScheduleId, reconcilerWorkflowId, WorkflowType } from "./names.ts";
import { upsertSchedule } from "./schedules.ts";

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
  await upsertSchedule(client, scheduleId, intervalMs, action, "reconciler");
}
