/**
 * The Temporal namespace Herald runs in: checked at start, created where Herald is told to, so a
 * missing namespace stops the start instead of leaving accepted events with no worker.
 */
import type { Client } from "@temporalio/client";
import { durationOf } from "./durations.ts";
import { TaskQueueKindValue, TaskQueueTypeValue } from "./task_queues.ts";

/**
 * How long Temporal keeps a closed workflow's history in a namespace Herald creates: the default
 * of RETENTION (30 days), so a payload's workflow can be looked at as long as the payload.
 */
export const NAMESPACE_RETENTION_MS = 30 * 86_400_000;

/** Temporal Cloud and global namespaces refuse a workflow execution retention under one day. */
const MIN_RETENTION_MS = 86_400_000;

/** gRPC status codes of Temporal's answers. */
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;

/** How long a namespace Herald registered may take to be served by every Temporal service. */
const USABLE_WITHIN_MS = 60_000;

/** What the check needs to know. */
export interface NamespaceCheck {
  /** The address Herald connects to, for the command it prints. */
  address: string;
  /** Create the namespace when it is missing (TEMPORAL_CREATE_NAMESPACE). */
  create: boolean;
  /** Whether the connection uses TLS or an API key, for the command it prints. */
  secured?: boolean;
  /** A task queue to probe, to know the new namespace is served (not only stored). */
  taskQueue: string;
  /** The retention to create it with; NAMESPACE_RETENTION_MS unless given. */
  retentionMs?: number;
  progress?: (message: string) => void;
}

/** The namespace is missing and Herald may not create it; the message says what to run. */
export class NamespaceMissing extends Error {
  override name = "NamespaceMissing";
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: number })?.code === NOT_FOUND;
}

/** A retention as the CLI takes it: whole days (`30d`), else whole hours (`36h`). */
function retentionFlag(ms: number): string {
  return ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : `${Math.ceil(ms / 3_600_000)}h`;
}

/** The CLI command that creates the namespace as Herald would. */
export function createNamespaceCommand(namespace: string, address: string, ms: number): string {
  return `temporal operator namespace create --namespace ${namespace} --address ${address} ` +
    `--retention ${retentionFlag(ms)}`;
}

/**
 * Makes sure the client's namespace exists: returns when it does; creates it (and waits until it
 * is served) when allowed; else throws NamespaceMissing naming the command to run.
 */
export async function ensureNamespace(client: Client, check: NamespaceCheck): Promise<void> {
  const namespace = client.options.namespace;
  const service = client.workflowService;
  try {
    await service.describeNamespace({ namespace });
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const retentionMs = Math.max(MIN_RETENTION_MS, check.retentionMs ?? NAMESPACE_RETENTION_MS);
  if (!check.create) {
    const command = createNamespaceCommand(namespace, check.address, retentionMs);
    throw new NamespaceMissing(
      `The Temporal namespace "${namespace}" does not exist on ${check.address}. Create it with\n` +
        `  ${command}${check.secured ? " (plus your --tls or --api-key options)" : ""}\n` +
        "then start Herald again, or set TEMPORAL_CREATE_NAMESPACE=true to let Herald create it.",
    );
  }
  check.progress?.(
    `Creating the Temporal namespace ${namespace} (retention ${retentionFlag(retentionMs)})...`,
  );
  try {
    await service.registerNamespace({
      namespace,
      description: "Herald's webhook deliveries",
      workflowExecutionRetentionPeriod: durationOf(retentionMs),
    });
  } catch (err) {
    // Another Herald process created it at the same moment.
    if ((err as { code?: number })?.code !== ALREADY_EXISTS) throw err;
  }
  await untilServed(client, check.taskQueue);
}

/**
 * Waits until the namespace is served for work, not only stored: Temporal's services learn of a
 * new namespace from a cache refreshed every few seconds, and a worker polling before then fails.
 */
async function untilServed(client: Client, taskQueue: string): Promise<void> {
  const deadline = Date.now() + USABLE_WITHIN_MS;
  for (;;) {
    try {
      await client.workflowService.describeTaskQueue({
        namespace: client.options.namespace,
        taskQueue: { name: taskQueue, kind: TaskQueueKindValue.NORMAL },
        taskQueueType: TaskQueueTypeValue.WORKFLOW,
      });
      return;
    } catch (err) {
      if (!isNotFound(err) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
