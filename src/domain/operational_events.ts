/**
 * Operational events: what Herald tells the platform (the admin token's holder) about its
 * customers' webhooks. Operational webhooks are the webhooks of one reserved organization that only
 * the admin token reaches; its events are payloads in the usual shape, signed and delivered by the
 * same rules. Nothing about the platform's own webhooks is emitted, so a failing operational
 * webhook cannot feed on itself.
 */
import type { DeactivationReason } from "./types.ts";
import { isSubscribed } from "./event_types.ts";
import { redactUrl } from "./url_policy.ts";

/** The reserved organization whose webhooks are the operational webhooks (migration 0010). */
export const PLATFORM_ORGANIZATION_ID = "org_platform";

/** The events an operational webhook can subscribe to. */
export const OPERATIONAL_EVENT_TYPES = [
  "webhook.deactivated",
  "webhook.reactivated",
  "payload.failed",
] as const;

/** One of the operational events. */
export type OperationalEventType = (typeof OPERATIONAL_EVENT_TYPES)[number];

/** Whether a subscription pattern matches at least one operational event. */
export function matchesOperationalEvent(pattern: string): boolean {
  return OPERATIONAL_EVENT_TYPES.some((type) => isSubscribed([pattern], type));
}

/** An operational event as recorded: the platform organization's event. */
export interface OperationalEvent {
  type: OperationalEventType;
  object: "webhook" | "payload";
  objectId: string;
  objectCreatedAt: number;
  data: Record<string, unknown>;
}

/** The webhook fields an operational event tells. */
export interface WebhookFacts {
  id: string;
  organizationId: string;
  name: string;
  url: string;
  createdAt: number;
}

function aboutWebhook(webhook: WebhookFacts) {
  return {
    webhookId: webhook.id,
    organizationId: webhook.organizationId,
    name: webhook.name,
    // As everywhere outside the webhook's own record: scheme, host and port only.
    url: redactUrl(webhook.url),
  };
}

/** `webhook.deactivated`: why, the payload whose failure caused it (or null), and when. */
export function webhookDeactivated(
  webhook: WebhookFacts,
  reason: DeactivationReason,
  payloadId: string | null,
  at: number,
): OperationalEvent {
  return {
    type: "webhook.deactivated",
    object: "webhook",
    objectId: webhook.id,
    objectCreatedAt: webhook.createdAt,
    data: { ...aboutWebhook(webhook), reason, payloadId, deactivatedAt: at },
  };
}

/** `webhook.reactivated`: the webhook receives payloads again, from `at`. */
export function webhookReactivated(webhook: WebhookFacts, at: number): OperationalEvent {
  return {
    type: "webhook.reactivated",
    object: "webhook",
    objectId: webhook.id,
    objectCreatedAt: webhook.createdAt,
    data: { ...aboutWebhook(webhook), reactivatedAt: at },
  };
}

/** The payload fields `payload.failed` tells. */
export interface FailedPayloadFacts {
  id: string;
  createdAt: number;
  event: string;
  run: number;
  finishedAt: number;
  attempts: number;
  lastAttempt: { number: number; status: number | null; error: string | null; at: number } | null;
}

/** `payload.failed`: every attempt of a run failed; the last one's status or error. */
export function payloadFailed(
  webhook: WebhookFacts,
  payload: FailedPayloadFacts,
): OperationalEvent {
  return {
    type: "payload.failed",
    object: "payload",
    objectId: payload.id,
    objectCreatedAt: payload.createdAt,
    data: {
      payloadId: payload.id,
      event: payload.event,
      ...aboutWebhook(webhook),
      run: payload.run,
      attempts: payload.attempts,
      lastAttempt: payload.lastAttempt,
      failedAt: payload.finishedAt,
    },
  };
}
