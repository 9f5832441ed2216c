/** The search attributes deliveries carry, so the Web UI can list them by webhook or event. */
import { defineSearchAttributeKey, SearchAttributeType } from "@temporalio/common";

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

/** The names and types to register on a Temporal namespace. */
export const SEARCH_ATTRIBUTES = ["WebhookId", "OrganizationId", "WebhookEvent"] as const;
