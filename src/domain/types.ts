/**
 * Herald's domain vocabulary: plans, statuses and webhook changes, each listed once here (the API's
 * enums and the dashboard's labels derive from these lists), with the rules they name.
 */

/** The plans an organization can be on. */
export const PLANS = ["free", "pro", "business"] as const;

/** An organization's plan. */
export type Plan = typeof PLANS[number];

/** The one plan whose organizations have webhooks: a downgrade stops every delivery at once. */
export const WEBHOOK_PLAN = "business" satisfies Plan;

/** Whether an organization on this plan may have webhooks (and receives payloads). */
export function hasWebhooks(plan: string): boolean {
  return plan === WEBHOOK_PLAN;
}

/** Whether a webhook receives payloads. */
export const WEBHOOK_STATUSES = ["active", "deactivated"] as const;
export type WebhookStatus = typeof WEBHOOK_STATUSES[number];

/** Why a webhook stopped receiving payloads. */
export const DEACTIVATION_REASONS = ["unreachable", "plan_downgraded", "manual"] as const;
export type DeactivationReason = typeof DEACTIVATION_REASONS[number];

/**
 * Where one payload's delivery stands: `pending` (recorded, no workflow yet), `delivering` (its
 * workflow runs), then one of the final three.
 */
export const PAYLOAD_STATUSES = [
  "pending",
  "delivering",
  "delivered",
  "failed",
  "cancelled",
] as const;
export type PayloadStatus = typeof PAYLOAD_STATUSES[number];

/** The statuses a run ends in. */
export const DELIVERY_OUTCOMES = ["delivered", "failed", "cancelled"] as const;
export type DeliveryOutcome = typeof DELIVERY_OUTCOMES[number];

/** The one HTTP status that delivers a payload (the seed's rule): any other is a failed attempt. */
export const DELIVERED_STATUS = 200;

/** Whether an attempt's answer delivered its payload. */
export function isDelivered(status: number | null): boolean {
  return status === DELIVERED_STATUS;
}

/** Statuses of a payload whose run is still open. */
export const OPEN_STATUSES = ["pending", "delivering"] as const;

/** How long an Idempotency-Key is remembered: a repeat within it answers as the first time. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;

/** Statuses a payload can be resent from. */
export const RESENDABLE_STATUSES = ["failed", "cancelled"] as const;

/** Why a payload ended `cancelled`. */
export const CANCEL_REASONS = [
  "webhook_deactivated",
  "webhook_deleted",
  "cancelled_by_operator",
  "terminated_by_operator",
] as const;
export type CancelReason = typeof CANCEL_REASONS[number];

/** One change to a webhook's state, serialised by its lifecycle workflow. */
export type WebhookChange =
  | { kind: "deactivate"; reason: DeactivationReason }
  | { kind: "reactivate" }
  | { kind: "delete" };

/** A webhook's state as its lifecycle workflow last applied it. */
export interface WebhookState {
  status: WebhookStatus | "deleted" | "unknown";
  deactivationReason: DeactivationReason | null;
}
