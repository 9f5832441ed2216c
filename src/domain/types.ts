/** Herald's domain vocabulary: plans, statuses and webhook changes. Types and constants only. */

/** An organization's plan; only `business` may have webhooks. */
export type Plan = "free" | "pro" | "business";

/** Whether a webhook receives payloads. */
export type WebhookStatus = "active" | "deactivated";

/** Why a webhook stopped receiving payloads. */
export type DeactivationReason = "unreachable" | "plan_downgraded" | "manual";

/**
 * Where one payload's delivery stands: `pending` (recorded, no workflow yet), `delivering` (its
 * workflow runs), then one of the final three.
 */
export type PayloadStatus = "pending" | "delivering" | "delivered" | "failed" | "cancelled";

/** The statuses a run ends in. */
export type DeliveryOutcome = "delivered" | "failed" | "cancelled";

/** Statuses of a payload whose run is still open. */
export const OPEN_STATUSES = ["pending", "delivering"] as const;

/** How long an Idempotency-Key is remembered: a repeat within it answers as the first time. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;

/** Statuses a payload can be resent from. */
export const RESENDABLE_STATUSES = ["failed", "cancelled"] as const;

/** Why a payload ended `cancelled`. */
export type CancelReason =
  | "webhook_deactivated"
  | "webhook_deleted"
  | "cancelled_by_operator"
  | "terminated_by_operator";

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
