/**
 * One payload's delivery, the seed's rule in one loop: at most `maxAttempts` POSTs per run,
 * `retryIntervalMs` apart, delivered only on 200; when the last one fails, the payload fails and
 * the webhook is deactivated (compensation, skipped for a test send), and the workflow ends Failed.
 *
 * Each attempt is a local activity (src/usecases/attempts.ts): it claims its number before it
 * sends, so a retried or replayed attempt never POSTs twice, and Herald's own faults before
 * sending are retried with backoff without spending one of the receiver's attempts. When the
 * webhook's pace holds a POST back, the attempt answers how long to wait: the workflow waits on a
 * durable timer and asks again, and the wait is not an attempt.
 *
 * An ordered payload (ordering `object`) first waits for its turn: while an earlier payload of its
 * object is open, it waits for that one's signal as it ends, or a timer, then asks again. As it
 * ends itself, it wakes the next one.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  defineSignal,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from "@temporalio/workflow";
import type { Activities } from "../workers/activities.ts";
import { DeliveryOutcomeKey, PREDECESSOR_FINAL_SIGNAL } from "../src/temporal/names.ts";
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

/** An earlier payload of the same object ended (or this one may have been cancelled). */
export const predecessorFinalSignal = defineSignal(PREDECESSOR_FINAL_SIGNAL);

/** Delivers one payload to one webhook and records how it ended. */
export async function deliverPayload(input: DeliverPayloadInput): Promise<DeliveryOutcome> {
  if (!input.ordered) return await deliver(input);
  let woken = false;
  setHandler(predecessorFinalSignal, () => void (woken = true));
  try {
    return await deliver(input, async (recheckMs) => {
      woken = false;
      const turn = await bookkeeping.turnOf({ payloadId: input.payloadId, run: input.run });
      if (turn.kind === "wait") {
        setCurrentDetails(
          turn.predecessorId
            ? `Waiting for ${turn.predecessorId} of the same ${objectName(turn.orderKey)} to end.`
            : "Waiting for the webhook's deactivation to be applied.",
        );
        await condition(() => woken, recheckMs);
      }
      return turn.kind;
    });
  } finally {
    // Once final, the next payload of the same object takes its turn now, not at its timer.
    await CancellationScope.nonCancellable(() =>
      bookkeeping.releaseSuccessor({ payloadId: input.payloadId })
    );
  }
}

/** `contact` from `contact:ct_…`. */
function objectName(orderKey: string): string {
  return orderKey.slice(0, orderKey.indexOf(":"));
}

/** One run: its turn if ordered, then at most `maxAttempts` POSTs, then how it ended. */
async function deliver(
  input: DeliverPayloadInput,
  askTurn?: (recheckMs: number) => Promise<"go" | "wait" | "stopped">,
): Promise<DeliveryOutcome> {
  const { payloadId, webhookId, run, maxAttempts, retryIntervalMs } = input;
  try {
    if (askTurn && input.ordered) {
      for (;;) {
        const turn = await askTurn(input.ordered.recheckMs);
        if (turn === "go") break;
        if (turn === "stopped") return end("cancelled");
      }
    }
    for (let number = 1; number <= maxAttempts; number++) {
      if (number > 1) await sleep(retryIntervalMs);
      const result = await attemptOnce(number, input);
      if (result.kind === "stopped") {
        // The payload was cancelled (or resent) meanwhile; whoever did it recorded the status.
        return end("cancelled");
      }
      if (result.kind === "unrecorded") await bookkeeping.recordAttempt(result.record);
      if (result.delivered) return "delivered";
      setCurrentDetails(
        `Attempt ${number} of ${maxAttempts} failed: ${result.summary}.` +
          (number < maxAttempts ? ` Next in ${retryIntervalMs / 1000} s.` : ""),
      );
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled from the Web UI or the API: record it, then end Canceled. A 200 recorded just
    // before keeps the payload delivered, and the search attribute says what the database says.
    const outcome = await CancellationScope.nonCancellable(() =>
      bookkeeping.finishDelivery({
        payloadId,
        run,
        outcome: "cancelled",
        cancelReason: "cancelled_by_operator",
      })
    );
    end(outcome);
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
  if (outcome === "delivered") return outcome;
  end(outcome);
  if (outcome === "cancelled") return outcome;
  throw ApplicationFailure.nonRetryable(
    `Not delivered: ${maxAttempts} attempts failed; ` +
      (input.test ? "a test send leaves the webhook active" : "the webhook is deactivated"),
    ErrorType.DeliveryFailed,
  );
}

/** Attempt `number`, after as many waits for the webhook's pace as it asks (none is an attempt). */
async function attemptOnce(
  number: number,
  input: DeliverPayloadInput,
): Promise<Exclude<AttemptResult, { kind: "wait" }>> {
  let slot: number | undefined;
  for (;;) {
    const result = await attempt(number, input).attemptDelivery({
      payloadId: input.payloadId,
      run: input.run,
      number,
      timeoutMs: input.timeoutMs,
      ...(slot !== undefined && { slot }),
    });
    if (result.kind !== "wait") return result;
    setCurrentDetails(
      `Attempt ${number} of ${input.maxAttempts} waits ${result.waitMs} ms: ${result.detail}.`,
    );
    slot = result.slot;
    await sleep(result.waitMs);
  }
}

/**
 * Lets the Web UI list deliveries that did not end delivered; a delivered run is the one that
 * ends Completed without it (`ExecutionStatus = "Completed" AND DeliveryOutcome IS NULL`).
 */
function end(outcome: DeliveryOutcome): DeliveryOutcome {
  upsertSearchAttributes([{ key: DeliveryOutcomeKey, value: outcome }]);
  return outcome;
}
