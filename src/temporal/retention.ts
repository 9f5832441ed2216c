/** RETENTION in Temporal: the hourly schedule that deletes old rows, and the namespace's own. */
import { type Client, ScheduleNotFoundError } from "@temporalio/client";
import type { enforceRetention } from "../../workflows/retention.ts";
import { formatRetention, namespaceRetentionMs } from "../domain/retention.ts";
import { log } from "../log.ts";
import { retentionScheduleId, retentionWorkflowId, WorkflowType } from "./names.ts";
import { upsertSchedule } from "./schedules.ts";
import { durationOf, millisecondsOf } from "./durations.ts";

/** How often retention runs: rows go within an hour of passing RETENTION. */
export const RETENTION_EVERY_MS = 3_600_000;

/**
 * Creates the schedule, or updates it when it exists; RETENTION=0 deletes it, since nothing is
 * ever to be deleted then.
 */
export async function ensureRetentionSchedule(
  client: Client,
  taskQueue: string,
  retentionMs: number,
): Promise<void> {
  const scheduleId = retentionScheduleId(taskQueue);
  if (retentionMs <= 0) {
    await client.schedule.getHandle(scheduleId).delete().catch((err) => {
      if (!(err instanceof ScheduleNotFoundError)) {
        log.warn("could not delete the retention schedule", { error: String(err) });
      }
    });
    return;
  }
  const action = {
    type: "startWorkflow" as const,
    workflowType: WorkflowType.enforceRetention,
    taskQueue,
    args: [{ retentionMs }] as Parameters<typeof enforceRetention>,
    workflowId: retentionWorkflowId(taskQueue),
    staticSummary: `Delete final payloads, their attempts and events older than ${
      formatRetention(retentionMs)
    }`,
  };
  await upsertSchedule(client, scheduleId, RETENTION_EVERY_MS, action, "retention");
}

/** How long the namespace keeps closed workflows, in milliseconds. */
async function namespaceRetention(client: Client): Promise<number | undefined> {
  const { config } = await client.workflowService.describeNamespace({
    namespace: client.options.namespace,
  });
  return millisecondsOf(config?.workflowExecutionRetentionTtl);
}

/**
 * Matches the namespace's retention of closed workflows to RETENTION (at least a day, see
 * `namespaceRetentionMs`). On the embedded server Herald sets it; on a cluster it is the
 * operator's, so Herald only says what to run when it differs.
 */
export async function matchNamespaceRetention(
  client: Client,
  retentionMs: number,
  options: { update: boolean },
): Promise<void> {
  const wanted = namespaceRetentionMs(retentionMs);
  if (wanted === undefined) return;
  const namespace = client.options.namespace;
  try {
    if ((await namespaceRetention(client)) === wanted) return;
    if (options.update) {
      await client.workflowService.updateNamespace({
        namespace,
        config: { workflowExecutionRetentionTtl: durationOf(wanted) },
      });
      return;
    }
    log.warn("the Temporal namespace keeps closed workflows for another time than RETENTION", {
      namespace,
      retention: formatRetention(wanted),
      command: `temporal operator namespace update --namespace ${namespace} --retention ${
        formatRetention(wanted)
      }`,
    });
  } catch (err) {
    log.warn("could not read or set the Temporal namespace's retention", {
      namespace,
      error: String(err),
    });
  }
}
