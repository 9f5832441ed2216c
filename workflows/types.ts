/** Inputs and results of workflows and their activities. Ids only, never secrets. */
import type {
  CancelReason,
  DeactivationReason,
  DeliveryOutcome,
  WebhookChange,
  WebhookState,
} from "../src/domain/types.ts";
import type { WaitReason } from "../src/domain/flow.ts";

export type {
  CancelReason,
  DeactivationReason,
  DeliveryOutcome,
  WaitReason,
  WebhookChange,
  WebhookState,
};

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
  /**
   * Ordering `object`: before its first attempt the payload waits until every earlier open
   * payload of its object is final, asking again when signalled or after `recheckMs`.
   */
  ordered?: { recheckMs: number };
}

/** What one attempt is asked to do: POST attempt `number` of this run, once. */
export interface AttemptInput {
  payloadId: string;
  run: number;
  number: number;
  timeoutMs: number;
  /** The send slot a previous wait reserved for this POST (flow control), if any. */
  slot?: number;
}

/** What one attempt found. */
export type AttemptResult =
  | {
    /** The POST was made (or claimed by an earlier try) and its outcome recorded: it counts. */
    kind: "sent";
    /** The receiver answered 200. */
    delivered: boolean;
    /** The answer in a few words, for the Web UI. */
    summary: string;
  }
  | {
    /** The POST was made (or claimed) but its outcome could not be written: the workflow does. */
    kind: "unrecorded";
    delivered: boolean;
    summary: string;
    record: AttemptRecord;
  }
  | {
    /** Nothing was sent: the webhook or the payload is no longer waiting for this run. */
    kind: "stopped";
    reason: CancelReason | "run_superseded";
  }
  | {
    /** Nothing was sent yet: the webhook's pace holds this POST back (a timer, not an attempt). */
    kind: "wait";
    waitMs: number;
    reason: WaitReason;
    /** The slot reserved meanwhile; the next try of this attempt passes it back. */
    slot?: number;
    /** Why, in a sentence, for the Web UI. */
    detail: string;
  };

/** Whether an ordered payload may make its first attempt now. */
export type Turn =
  | { kind: "go" }
  | {
    kind: "wait";
    /** The open payload just before it in its object's order, or null for a deactivation. */
    predecessorId: string | null;
    /** The object, as `object:objectId`, for the Web UI. */
    orderKey: string;
  }
  /** The payload is no longer open at this run (cancelled, resent): its delivery ends. */
  | { kind: "stopped" };

/** How a run ended, as the workflow records it. */
export interface FinishInput {
  payloadId: string;
  run: number;
  outcome: DeliveryOutcome;
  cancelReason?: CancelReason;
}

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
