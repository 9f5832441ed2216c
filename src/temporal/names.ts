/**
 * Every name Herald gives things in Temporal: workflow ids and types, task queues, search
 * attributes, the reconciler's and retention's schedules. Pure: workflow code imports it too.
 */
import { defineSearchAttributeKey, SearchAttributeType } from "@temporalio/common";

/** The workflow id of a payload's delivery. */
export const deliveryWorkflowId = (payloadId: string) => `payload:${payloadId}`;

/** The workflow id of a webhook's lifecycle. */
export const lifecycleWorkflowId = (webhookId: string) => `webhook:${webhookId}`;

/** The workflow id of the reconciler's runs. */
export const reconcilerWorkflowId = (taskQueue: string) => `reconcile:${taskQueue}`;

/** The id of the schedule that runs the reconciler, one per task queue. */
export const reconcilerScheduleId = (taskQueue: string) => `herald-reconciler:${taskQueue}`;

/** The workflow id of retention's runs. */
export const retentionWorkflowId = (taskQueue: string) => `retention:${taskQueue}`;

/** The id of the schedule that runs retention, one per task queue. */
export const retentionScheduleId = (taskQueue: string) => `herald-retention:${taskQueue}`;

/**
 * The task queue of lifecycle workflows: their own, so a deactivation never waits behind a
 * backlog of delivery attempts.
 */
export const lifecycleTaskQueue = (taskQueue: string) => `${taskQueue}-lifecycle`;

/**
 * A webhook's lifecycle workflow: the signal that asks it for a change (the reconciler's and
 * bulk changes'), the update that asks and answers with the state applied (the API's), and its
 * query of the state.
 */
export const LIFECYCLE_CHANGE_SIGNAL = "change";
export const LIFECYCLE_CHANGE_UPDATE = "applyChange";
export const LIFECYCLE_STATE_QUERY = "state";

/** The workflow types, as registered by the worker. */
export const WorkflowType = {
  deliverPayload: "deliverPayload",
  webhookLifecycle: "webhookLifecycle",
  reconcile: "reconcile",
  enforceRetention: "enforceRetention",
} as const;

/**
 * The signal an ordered payload's delivery sends, as it ends, to the next payload of its object
 * waiting for its turn (workflows/deliver_payload.ts).
 */
export const PREDECESSOR_FINAL_SIGNAL = "predecessorFinal";

/** The webhook a delivery is for. */
export const WebhookIdKey = defineSearchAttributeKey("WebhookId", SearchAttributeType.KEYWORD);
/** The organization that owns the webhook. */
export const OrganizationIdKey = defineSearchAttributeKey(
  "OrganizationId",
  SearchAttributeType.KEYWORD,
);
/** The event type, such as `contact.updated`. */
export const WebhookEventKey = defineSearchAttributeKey(
  "WebhookEvent",
  SearchAttributeType.KEYWORD,
);
/** How the delivery ended (`delivered`, `failed`, `cancelled`), set by the workflow as it ends. */
export const DeliveryOutcomeKey = defineSearchAttributeKey(
  "DeliveryOutcome",
  SearchAttributeType.KEYWORD,
);

/** The search attributes to register on a Temporal namespace (all Keyword). */
export const SEARCH_ATTRIBUTES = [
  WebhookIdKey,
  OrganizationIdKey,
  WebhookEventKey,
  DeliveryOutcomeKey,
]
  .map((key) => key.name);
