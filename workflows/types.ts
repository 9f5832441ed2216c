/** Inputs and results shared by workflows, activities and their starters. Ids only, never secrets. */

/** What starts one delivery of one payload. */
export interface DeliverPayloadInput {
  payloadId: string;
  webhookId: string;
  /** The payload's run: 1 for the first delivery, then one more per resend. */
  run: number;
  /** Attempts per run (DELIVERY_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** Pause between attempts in ms (DELIVERY_RETRY_INTERVAL). */
  retryIntervalMs: number;
  /** One attempt's HTTP timeout in ms (DELIVERY_TIMEOUT). */
  timeoutMs: number;
}

/** How a delivery ended. */
export type DeliveryOutcome = "delivered" | "failed" | "cancelled";

/** Why a webhook stopped receiving payloads. */
export type DeactivationReason = "unreachable" | "plan_downgraded" | "manual";

/** One change to a webhook's state, serialised by its lifecycle workflow. */
export type WebhookChange =
  | { kind: "deactivate"; reason: DeactivationReason }
  | { kind: "reactivate" }
  | { kind: "delete" };

/** A webhook's state as its lifecycle workflow last applied it. */
export interface WebhookState {
  status: "active" | "deactivated" | "deleted" | "unknown";
  deactivationReason: DeactivationReason | null;
  /** How many changes this workflow run has applied. */
  changesApplied: number;
}

/** Error types that cross from activities to workflows. */
export const ErrorType = {
  /** The receiver did not answer 200: the attempt counts. */
  DeliveryFailed: "DeliveryFailed",
  /** Herald's own infrastructure failed before or after the HTTP request: the attempt does not count. */
  HeraldUnavailable: "HeraldUnavailable",
  /** The webhook was deactivated or deleted, or the payload cancelled: stop without sending. */
  WebhookInactive: "WebhookInactive",
} as const;
