/** Starting deliveries and signalling lifecycles: how the API and activities talk to Temporal. */
import { type Client, WorkflowExecutionAlreadyStartedError } from "@temporalio/client";
import type { DeactivationReason, DeliverPayloadInput } from "../../workflows/types.ts";
import type { deliverPayload, webhookLifecycle } from "../../workflows/mod.ts";
import { redactUrl } from "../domain/url_policy.ts";
import { OrganizationIdKey, WebhookEventKey, WebhookIdKey } from "./search_attributes.ts";

/** Everything needed to start one payload's delivery workflow. */
export interface DeliveryStart {
  payloadId: string;
  webhookId: string;
  organizationId: string;
  event: string;
  url: string;
  run: number;
}

/** Delivery settings passed into each workflow. */
export interface DeliverySettings {
  maxAttempts: number;
  retryIntervalMs: number;
  timeoutMs: number;
}

/** The workflow id of a payload's delivery. */
export const deliveryWorkflowId = (payloadId: string) => `payload:${payloadId}`;
/**
 * The task queue of lifecycle workflows: their own, so a deactivation never waits behind a
 * backlog of delivery attempts.
 */
export const lifecycleTaskQueue = (taskQueue: string) => `${taskQueue}-lifecycle`;

/** The workflow id of a webhook's lifecycle. */
export const lifecycleWorkflowId = (webhookId: string) => `webhook:${webhookId}`;

/** Starts `deliverPayload` for a payload; a delivery already running is left alone. */
export async function startDelivery(
  client: Client,
  taskQueue: string,
  settings: DeliverySettings,
  start: DeliveryStart,
): Promise<void> {
  const input: DeliverPayloadInput = {
    payloadId: start.payloadId,
    webhookId: start.webhookId,
    run: start.run,
    maxAttempts: settings.maxAttempts,
    retryIntervalMs: settings.retryIntervalMs,
    timeoutMs: settings.timeoutMs,
  };
  try {
    await client.workflow.start<typeof deliverPayload>("deliverPayload", {
      workflowId: deliveryWorkflowId(start.payloadId),
      taskQueue,
      args: [input],
      workflowIdConflictPolicy: "FAIL",
      typedSearchAttributes: [
        { key: WebhookIdKey, value: start.webhookId },
        { key: OrganizationIdKey, value: start.organizationId },
        { key: WebhookEventKey, value: start.event },
      ],
      memo: { url: redactUrl(start.url), run: start.run },
      staticSummary: `${start.event} → ${redactUrl(start.url)}`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/** Sends a change to a webhook's lifecycle workflow, starting it when it is not running. */
export async function signalLifecycle(
  client: Client,
  taskQueue: string,
  webhookId: string,
  change: { kind: "deactivate"; reason: DeactivationReason } | { kind: "reactivate" } | {
    kind: "delete";
  },
): Promise<void> {
  const common = {
    workflowId: lifecycleWorkflowId(webhookId),
    taskQueue: lifecycleTaskQueue(taskQueue),
    args: [{ webhookId }] as [{ webhookId: string }],
    staticSummary: `Lifecycle of webhook ${webhookId}`,
  };
  if (change.kind === "deactivate") {
    await client.workflow.signalWithStart<typeof webhookLifecycle, [DeactivationReason]>(
      "webhookLifecycle",
      { ...common, signal: "deactivate", signalArgs: [change.reason] },
    );
  } else {
    await client.workflow.signalWithStart<typeof webhookLifecycle, []>("webhookLifecycle", {
      ...common,
      signal: change.kind,
      signalArgs: [],
    });
  }
}
