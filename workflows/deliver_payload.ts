/** One payload's delivery: up to five attempts five seconds apart, then compensation. */
import { ActivityFailure, ApplicationFailure, proxyActivities, sleep } from "@temporalio/workflow";
import type { Activities } from "../workers/activities.ts";
import { type DeliverPayloadInput, type DeliveryOutcome, ErrorType } from "./types.ts";

// Bookkeeping is Herald's own work: it retries until the database answers, and never
// spends one of the receiver's attempts.
const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: "30s",
  retry: { initialInterval: "500ms", backoffCoefficient: 2, maximumInterval: "10s" },
});

/** Delivers one payload to one webhook and records how it ended. */
export async function deliverPayload(input: DeliverPayloadInput): Promise<DeliveryOutcome> {
  const { payloadId, webhookId, run, maxAttempts, retryIntervalMs, timeoutMs } = input;
  let attemptsMade = await bookkeeping.beginDelivery({ payloadId, run });

  while (attemptsMade < maxAttempts) {
    // The seed's retry policy: maxAttempts tries, retryIntervalMs apart, coefficient 1.
    const { attemptDelivery } = proxyActivities<Activities>({
      startToCloseTimeout: timeoutMs + 10_000,
      summary: `POST attempt, ${maxAttempts - attemptsMade} left`,
      retry: {
        maximumAttempts: maxAttempts - attemptsMade,
        initialInterval: retryIntervalMs,
        backoffCoefficient: 1,
        maximumInterval: retryIntervalMs,
        nonRetryableErrorTypes: [ErrorType.WebhookInactive],
      },
    });
    try {
      await attemptDelivery({ payloadId, run, timeoutMs });
      await bookkeeping.finishDelivery({ payloadId, run, outcome: "delivered" });
      return "delivered";
    } catch (err) {
      if (failureType(err) === ErrorType.WebhookInactive) {
        await bookkeeping.finishDelivery({ payloadId, run, outcome: "cancelled" });
        return "cancelled";
      }
      // Only attempts that reached the receiver count; those lost to our own faults are made up.
      attemptsMade = await bookkeeping.countAttempts({ payloadId, run });
      if (attemptsMade < maxAttempts) await sleep(retryIntervalMs);
    }
  }

  // Compensation: the receiver stayed unreachable, so the webhook is deactivated.
  const outcome = await bookkeeping.finishDelivery({ payloadId, run, outcome: "failed" });
  if (outcome === "failed") {
    await bookkeeping.requestDeactivation({ webhookId, reason: "unreachable" });
  }
  return outcome;
}

function failureType(err: unknown): string | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
    return err.cause.type ?? undefined;
  }
  return undefined;
}
