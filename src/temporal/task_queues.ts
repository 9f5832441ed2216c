/** Who polls Herald's task queues, as Temporal's task queue description says. */
import type { Client } from "@temporalio/client";
import protos from "@temporalio/proto";
import { lifecycleTaskQueue } from "./names.ts";

/** A normal (not sticky) task queue. */
export const TaskQueueKindValue = {
  NORMAL: protos.temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL,
} as const;

/** The workflow side of a task queue: every Herald worker polls it. */
export const TaskQueueTypeValue = {
  WORKFLOW: protos.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
} as const;

/** Herald's task queues: deliveries (TEMPORAL_TASK_QUEUE) and webhook lifecycles. */
export function heraldTaskQueues(taskQueue: string): string[] {
  return [taskQueue, lifecycleTaskQueue(taskQueue)];
}

/**
 * The workers polling each queue for workflow tasks. Temporal forgets a poller five minutes
 * after its last poll, so a worker that stopped still counts for that long.
 */
export async function describePollers(
  client: Client,
  queues: string[],
): Promise<Record<string, number>> {
  const answers = await Promise.all(queues.map((name) =>
    client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name, kind: TaskQueueKindValue.NORMAL },
      taskQueueType: TaskQueueTypeValue.WORKFLOW,
    })
  ));
  return Object.fromEntries(queues.map((name, i) => [name, answers[i]!.pollers?.length ?? 0]));
}
