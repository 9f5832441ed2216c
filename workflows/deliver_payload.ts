/** One payload's delivery: up to five attempts five seconds apart, then compensation. */
import {
  ActivityFailure,
  ApplicationFailure,
  patched,
  proxyActivities,
  proxyLocalActivities,
  sleep,
} from "@temporalio/workflow";
import type { Activities } from "../workers/activities.ts";
import { type DeliverPayloadInput, type DeliveryOutcome, ErrorType } from "./types.ts";

// Bookkeeping is Herald's own work: it retries until the database answers, and never
// spends one of the receiver's attempts.
const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: "30s",
  retry: { initialInterval: "500ms", backoffCoefficient: 2, maximumInterval: "10s" },
});

/**
 * Marks runs whose happy path is one activity (the attempt that answers 200 also records the
 * delivery) instead of three. Runs started earlier replay the first version.
 */
export const ONE_ACTIVITY_PATCH = "delivery-in-one-activity";

/**
 * Marks runs whose first attempt is a local activity: it runs in the worker inside the first
 * workflow task, so a delivery that succeeds at once costs Temporal one workflow task and no
 * activity task. Later attempts stay regular activities, visible with their retries.
 */
export const LOCAL_FIRST_ATTEMPT_PATCH = "first-attempt-local";

/** What the pause after attempt 1 leaves for the task round trips before attempt 2 (measured). */
const DISPATCH_ALLOWANCE_MS = 50;

/** Delivers one payload to one webhook and records how it ended. */
export async function deliverPayload(input: DeliverPayloadInput): Promise<DeliveryOutcome> {
  if (patched(LOCAL_FIRST_ATTEMPT_PATCH)) return await deliverLocalFirst(input);
  if (patched(ONE_ACTIVITY_PATCH)) return await retryAttempts(input);
  return await deliverPayloadFirstVersion(input);
}

/**
 * The first attempt: a local activity. Herald's own faults (HeraldUnavailable) are retried in
 * the worker without counting; an answer other than 200 ends it, counted.
 */
const firstAttempt = (input: DeliverPayloadInput) =>
  proxyLocalActivities<Activities>({
    startToCloseTimeout: input.timeoutMs + 10_000,
    summary: "POST to the receiver: attempt 1",
    retry: {
      initialInterval: "500ms",
      backoffCoefficient: 2,
      maximumInterval: "10s",
      nonRetryableErrorTypes: [ErrorType.DeliveryFailed, ErrorType.WebhookInactive],
    },
  });

async function deliverLocalFirst(input: DeliverPayloadInput): Promise<DeliveryOutcome> {
  const { payloadId, run, timeoutMs, retryIntervalMs } = input;
  try {
    await firstAttempt(input).attemptDelivery({ payloadId, run, timeoutMs });
    return "delivered";
  } catch (err) {
    if (failureType(err) === ErrorType.WebhookInactive) {
      return await bookkeeping.finishDelivery({ payloadId, run, outcome: "cancelled" });
    }
    if (failureType(err) !== ErrorType.DeliveryFailed) throw err;
  }
  // The receiver did not answer 200: the rest of the policy, as a regular activity. The pause is
  // shortened by the two task round trips (timer to workflow task, workflow task to activity)
  // that a retry by the server does not make, so this gap matches the later ones.
  if (input.maxAttempts > 1) await sleep(Math.max(0, retryIntervalMs - DISPATCH_ALLOWANCE_MS));
  return await retryAttempts(input, 1);
}

/**
 * Attempts as one activity with the seed's retry policy until maxAttempts reached the receiver,
 * then compensation. An attempt that answers 200 records the payload delivered in the same
 * transaction.
 */
async function retryAttempts(
  input: DeliverPayloadInput,
  alreadyMade = 0,
): Promise<DeliveryOutcome> {
  const { payloadId, webhookId, run, maxAttempts, retryIntervalMs, timeoutMs } = input;
  let attemptsMade = alreadyMade;
  while (attemptsMade < maxAttempts) {
    try {
      await attemptActivity(input, attemptsMade).attemptDelivery({ payloadId, run, timeoutMs });
      return "delivered";
    } catch (err) {
      if (failureType(err) === ErrorType.WebhookInactive) {
        return await bookkeeping.finishDelivery({ payloadId, run, outcome: "cancelled" });
      }
      // Only attempts that reached the receiver count; those lost to our own faults are made up.
      attemptsMade = await bookkeeping.countAttempts({ payloadId, run });
      if (attemptsMade < maxAttempts) await sleep(retryIntervalMs);
    }
  }
  return await compensate(payloadId, webhookId, run);
}

/** The seed's retry policy for the attempts left: retryIntervalMs apart, coefficient 1. */
function attemptActivity(input: DeliverPayloadInput, attemptsMade: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: input.timeoutMs + 10_000,
    summary: `POST to the receiver: attempts ${attemptsMade + 1} to ${input.maxAttempts}, ${
      input.retryIntervalMs / 1000
    } s apart`,
    retry: {
      maximumAttempts: input.maxAttempts - attemptsMade,
      initialInterval: input.retryIntervalMs,
      backoffCoefficient: 1,
      maximumInterval: input.retryIntervalMs,
      nonRetryableErrorTypes: [ErrorType.WebhookInactive],
    },
  });
}

/** Compensation: the receiver stayed unreachable, so the payload fails and the webhook is deactivated. */
async function compensate(payloadId: string, webhookId: string, run: number) {
  const outcome = await bookkeeping.finishDelivery({ payloadId, run, outcome: "failed" });
  if (outcome === "failed") {
    await bookkeeping.requestDeactivation({ webhookId, reason: "unreachable" });
  }
  return outcome;
}

/** The first version (begin, attempt, finish), kept so runs started with it replay unchanged. */
async function deliverPayloadFirstVersion(input: DeliverPayloadInput): Promise<DeliveryOutcome> {
  const { payloadId, webhookId, run, maxAttempts, retryIntervalMs, timeoutMs } = input;
  let attemptsMade = await bookkeeping.beginDelivery({ payloadId, run });
  while (attemptsMade < maxAttempts) {
    try {
      await attemptActivity(input, attemptsMade).attemptDelivery({ payloadId, run, timeoutMs });
      await bookkeeping.finishDelivery({ payloadId, run, outcome: "delivered" });
      return "delivered";
    } catch (err) {
      if (failureType(err) === ErrorType.WebhookInactive) {
        await bookkeeping.finishDelivery({ payloadId, run, outcome: "cancelled" });
        return "cancelled";
      }
      attemptsMade = await bookkeeping.countAttempts({ payloadId, run });
      if (attemptsMade < maxAttempts) await sleep(retryIntervalMs);
    }
  }
  return await compensate(payloadId, webhookId, run);
}

function failureType(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? cause.type ?? undefined : undefined;
}
