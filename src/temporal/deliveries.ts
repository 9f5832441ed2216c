/** How Herald asks Temporal for work: starting deliveries, sending webhook change requests. */
import {
  type Client,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
} from "@temporalio/client";
import type { Context } from "@opentelemetry/api";
import { inTraceContext } from "../traces/context.ts";
import type { DeliverPayloadInput, WebhookRequest } from "../../workflows/types.ts";
import type { WebhookState } from "../domain/types.ts";
import { redactUrl } from "../domain/url_policy.ts";
import { TEST_EVENT } from "../domain/event_types.ts";
import { PREDECESSOR_RECHECK_MS } from "../domain/ordering.ts";
import { metrics } from "../metrics.ts";
import {
  deliveryWorkflowId,
  LIFECYCLE_CHANGE_SIGNAL,
  LIFECYCLE_CHANGE_UPDATE,
  lifecycleTaskQueue,
  lifecycleWorkflowId,
  OrganizationIdKey,
  PREDECESSOR_FINAL_SIGNAL,
  WebhookEventKey,
  WebhookIdKey,
  WorkflowType,
} from "./names.ts";

/** Everything needed to start one payload's delivery workflow. */
export interface DeliveryStart {
  payloadId: string;
  webhookId: string;
  organizationId: string;
  event: string;
  url: string;
  run: number;
  /** The trace of the request that committed the payload, when traces are on. */
  traceContext?: Context;
  /** The payload waits for every earlier open payload of its object (ordering `object`). */
  ordered: boolean;
}

/**
 * The start of a payload's delivery from its row (with its event's type and its webhook's URL):
 * the one way every path (an event, a replay, a resend, the reconciler) builds it.
 */
export function deliveryStartOf(row: {
  id: string;
  webhook_id: string;
  organization_id: string;
  type: string;
  url: string;
  run: number;
  order_key: string | null;
}): DeliveryStart {
  return {
    payloadId: row.id,
    webhookId: row.webhook_id,
    organizationId: row.organization_id,
    event: row.type,
    url: row.url,
    run: row.run,
    ordered: row.order_key !== null,
  };
}

/** Delivery settings passed into each workflow. */
export interface DeliverySettings {
  maxAttempts: number;
  retryIntervalMs: number;
  timeoutMs: number;
  /**
   * Starts workflows eagerly: the server hands the first workflow task back with the start's
   * answer, to a worker of this process that polls the task queue on the same native connection,
   * with no task queue trip. Set only where that holds (`deno task start`); when that worker has
   * no free workflow task slot, the start is an ordinary one.
   */
  eagerStart?: boolean;
}

/**
 * Starts `deliverPayload` for a payload. Answers false when a workflow with its id is still
 * open: this run's (started by someone else) or a previous run's that has not ended yet.
 */
export async function startDelivery(
  client: Client,
  taskQueue: string,
  settings: DeliverySettings,
  start: DeliveryStart,
): Promise<boolean> {
  const input: DeliverPayloadInput = {
    payloadId: start.payloadId,
    webhookId: start.webhookId,
    run: start.run,
    maxAttempts: settings.maxAttempts,
    retryIntervalMs: settings.retryIntervalMs,
    timeoutMs: settings.timeoutMs,
    // Known by its event, so a resend of a test payload is a test too.
    ...(start.event === TEST_EVENT && { test: true }),
    ...(start.ordered && { ordered: { recheckMs: PREDECESSOR_RECHECK_MS } }),
  };
  try {
    const handle = await inTraceContext(
      start.traceContext,
      () =>
        client.workflow.start(WorkflowType.deliverPayload, {
          workflowId: deliveryWorkflowId(start.payloadId),
          taskQueue,
          args: [input],
          workflowIdConflictPolicy: "FAIL",
          requestEagerStart: settings.eagerStart,
          typedSearchAttributes: [
            { key: WebhookIdKey, value: start.webhookId },
            { key: OrganizationIdKey, value: start.organizationId },
            { key: WebhookEventKey, value: start.event },
          ],
          memo: { url: redactUrl(start.url), run: start.run },
          staticSummary: `${start.event} → ${redactUrl(start.url)} (run ${start.run})`,
        }),
    );
    metrics.deliveryStarts.inc({ eager: String(handle.eagerlyStarted) });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}

/** Whether the delivery workflow of a payload is still open. */
export async function isDeliveryOpen(client: Client, payloadId: string): Promise<boolean> {
  try {
    const description = await client.workflow.getHandle(deliveryWorkflowId(payloadId)).describe();
    return description.status.name === "RUNNING";
  } catch (err) {
    if (err instanceof Error && err.name === "WorkflowNotFoundError") return false;
    throw err;
  }
}

/**
 * Tells a payload's open delivery that its predecessor ended (or that it may have been
 * cancelled), so it looks at its turn again now; nothing when no delivery of it is open.
 */
export async function wakeDelivery(client: Client, payloadId: string): Promise<void> {
  try {
    await client.workflow.getHandle(deliveryWorkflowId(payloadId)).signal(PREDECESSOR_FINAL_SIGNAL);
  } catch (err) {
    if (err instanceof Error && err.name === "WorkflowNotFoundError") return;
    throw err;
  }
}

/** Sends a recorded change request to a webhook's lifecycle workflow, starting it if needed. */
export async function sendWebhookRequest(
  client: Client,
  taskQueue: string,
  webhookId: string,
  request: WebhookRequest,
): Promise<void> {
  await client.workflow.signalWithStart(WorkflowType.webhookLifecycle, {
    workflowId: lifecycleWorkflowId(webhookId),
    taskQueue: lifecycleTaskQueue(taskQueue),
    args: [{ webhookId }],
    signal: LIFECYCLE_CHANGE_SIGNAL,
    signalArgs: [request],
    staticSummary: `Lifecycle of webhook ${webhookId}`,
  });
}

/**
 * Asks a webhook's lifecycle workflow (started if needed) for a recorded change and answers with
 * the state the workflow applied: an update-with-start, so the caller waits for the change itself
 * rather than watching the database.
 */
export async function applyWebhookChange(
  client: Client,
  taskQueue: string,
  webhookId: string,
  request: WebhookRequest,
): Promise<WebhookState> {
  const start = new WithStartWorkflowOperation(WorkflowType.webhookLifecycle, {
    workflowId: lifecycleWorkflowId(webhookId),
    taskQueue: lifecycleTaskQueue(taskQueue),
    args: [{ webhookId }],
    workflowIdConflictPolicy: "USE_EXISTING",
    staticSummary: `Lifecycle of webhook ${webhookId}`,
  });
  return await client.workflow.executeUpdateWithStart<
    (input: { webhookId: string }) => Promise<WebhookState>,
    WebhookState,
    [WebhookRequest]
  >(LIFECYCLE_CHANGE_UPDATE, {
    args: [request],
    updateId: request.requestId,
    startWorkflowOperation: start,
  });
}
