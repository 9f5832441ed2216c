/**
 * One payload's delivery, the seed's rule in one loop: at most `maxAttempts` POSTs per run,
 * `retryIntervalMs` apart, delivered only on 200; when the last one fails, the payload fails and
 * the webhook is deactivated (compensation, skipped for a test send), and the workflow ends Failed.
 *
 * Each attempt is a local activity: it runs in the worker inside the workflow task, so a payload
 * delivered at once costs Temporal one workflow task and no activity task (measured against a
 * regular activity per attempt in BENCHMARKS.md). An attempt claims its number in the database
 * before it sends, so a retried or replayed attempt never POSTs twice; Herald's own faults
 * before sending are retried with backoff and never spend one of the receiver's attempts.
 * The workflow has one version: versioning comes with the first release that has open workflows
 * (docs/delivery.md).
 */
import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  sleep,
  upsertSearchAttributes,
} from "@temporalio/workflow";
import type { Activities } from "../workers/activities.ts";
import { DeliveryOutcomeKey } from "../src/temporal/names.ts";
import {
  type AttemptResult,
  type DeliverPayloadInput,
  type DeliveryOutcome,
  ErrorType,
} from "./types.ts";

// Bookkeeping never sends: it retries until the database answers.
const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: "30s",
  retry: { initialInterval: "500ms", backoffCoefficient: 2, maximumInterval: "30s" },
});

/** Attempt `number`: the POST's own timeout plus time for the database before and after it. */
const attempt = (number: number, { maxAttempts, timeoutMs }: DeliverPayloadInput) =>
  proxyLocalActivities<Activities>({
    summary: `POST to the receiver: attempt ${number} of ${maxAttempts}`,
    startToCloseTimeout: timeoutMs + 15_000,
    // Retries only Herald's faults before the POST (the activity returns every other outcome).
    retry: { initialInterval: "500ms", backoffCoefficient: 2, maximumInterval: "30s" },
    // A pause longer than this is a workflow timer, not a sleep inside the worker, so an outage
    // never holds a workflow task (or a worker's stop) for the length of the backoff.
    localRetryThreshold: "1s",
  });

/** Delivers one payload to one webhook and records how it ended. */
export async function deliverPayload(input: DeliverPayloadInput): Promise<DeliveryOutcome> {
  const { payloadId, webhookId, run, maxAttempts, retryIntervalMs, timeoutMs } = input;
  try {
    for (let number = 1; number <= maxAttempts; number++) {
      if (number > 1) await sleep(retryIntervalMs);
      const result: AttemptResult = await attempt(number, input).attemptDelivery({
        payloadId,
        run,
        number,
        timeoutMs,
      });
      if (result.kind === "stopped") {
        // The payload was cancelled (or resent) meanwhile; whoever did it recorded the status.
        return end("cancelled");
      }
      if (!result.recorded) await bookkeeping.recordAttempt(result.record!);
      if (result.delivered) return end("delivered");
      setCurrentDetails(
        `Attempt ${number} of ${maxAttempts} failed: ${result.summary}.` +
          (number < maxAttempts ? ` Next in ${retryIntervalMs / 1000} s.` : ""),
      );
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled from the Web UI or the API: record it, then end Canceled.
    await CancellationScope.nonCancellable(() =>
      bookkeeping.finishDelivery({
        payloadId,
        run,
        outcome: "cancelled",
        cancelReason: "cancelled_by_operator",
      })
    );
    end("cancelled");
    throw err;
  }
  // Compensation: the receiver stayed unreachable. Once begun it runs to its end, even if a
  // cancellation arrives meanwhile. A test send only shows its owner what the receiver answers:
  // it never deactivates the webhook.
  const outcome = await CancellationScope.nonCancellable(async () => {
    const recorded = await bookkeeping.finishDelivery({ payloadId, run, outcome: "failed" });
    if (recorded === "failed" && !input.test) {
      await bookkeeping.requestDeactivation({ webhookId, reason: "unreachable", payloadId, run });
    }
    return recorded;
  });
  if (outcome !== "failed") return end(outcome);
  end("failed");
  throw ApplicationFailure.nonRetryable(
    `Not delivered: ${maxAttempts} attempts failed; ` +
      (input.test ? "a test send leaves the webhook active" : "the webhook is deactivated"),
    ErrorType.DeliveryFailed,
  );
}

/** Lets the Web UI list deliveries by how they ended. */
function end(outcome: DeliveryOutcome): DeliveryOutcome {
  upsertSearchAttributes([{ key: DeliveryOutcomeKey, value: outcome }]);
  return outcome;
}
