/** Inputs and results of workflows and their activities. Ids only, never secrets. */
import type {
  CancelReason,
  DeactivationReason,
  DeliveryOutcome,
  WebhookChange,
  WebhookState,
} from "../src/domain/types.ts";

export type { CancelReason, DeactivationReason, DeliveryOutcome, WebhookChange, WebhookState };

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
  /** A test send (`webhook.test`): when its last attempt fails, its webhook stays active. */
  test?: boolean;
}

/** What one attempt is asked to do: POST attempt `number` of this run, once. */
export interface AttemptInput {
  payloadId: string;
  run: number;
  number: number;
  timeoutMs: number;
}

/** What one attempt found. */
export type AttemptResult =
  | {
    /** The POST was made (or claimed by an earlier try that stopped): it counts. */
    kind: "sent";
    /** The receiver answered 200. */
    delivered: boolean;
    /** The answer in a few words, for the Web UI. */
    summary: string;
    /** False when the outcome could not be written; the workflow records it. */
    recorded: boolean;
    /** What the attempt record must say when `recorded` is false. */
    record?: AttemptRecord;
  }
  | {
    /** Nothing was sent: the webhook or the payload is no longer waiting for this run. */
    kind: "stopped";
    reason: CancelReason | "run_superseded";
  };

/** The outcome of one POST as the attempts table keeps it. */
export interface AttemptRecord {
  payloadId: string;
  run: number;
  number: number;
  durationMs: number;
  responseStatus: number | null;
  error: string | null;
  responseBody: string | null;
  /** The body as sent, kept as the payload's last body. */
  body: string | null;
}

/** A change asked of a webhook's lifecycle, with the id of its recorded request. */
export interface WebhookRequest {
  requestId: string;
  change: WebhookChange;
}

/** Error types that cross from activities to workflows. */
export const ErrorType = {
  /** Herald's own infrastructure failed before anything was sent: retried, never counted. */
  HeraldUnavailable: "HeraldUnavailable",
  /** Every attempt of the run failed: the workflow ends Failed. */
  DeliveryFailed: "DeliveryFailed",
} as const;
