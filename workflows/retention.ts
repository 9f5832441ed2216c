/**
 * Retention, run every hour by a Temporal Schedule: deletes the final payloads, their attempts, the
 * events and the Idempotency-Keys older than RETENTION, batch after batch, until nothing old is left.
 */
import { continueAsNew, proxyActivities, workflowInfo } from "@temporalio/workflow";
import type { Activities } from "../workers/activities.ts";
import type { RetentionPosition } from "../src/usecases/retention.ts";

const { deleteExpiredRows } = proxyActivities<Activities>({
  // One call deletes for about a minute, heartbeating after each batch.
  startToCloseTimeout: "5m",
  heartbeatTimeout: "30s",
  retry: { maximumAttempts: 5 },
});

/** What a run was asked to keep, and (after continue-as-new) how far it had gone. */
export interface RetentionInput {
  /** RETENTION in milliseconds; 0 deletes nothing. */
  retentionMs: number;
  /** Rows per statement; the activity's default when absent. */
  batchSize?: number;
  /** Set by continue-as-new: the moment the pass counts back from, where it stood, its totals. */
  asOf?: number;
  position?: RetentionPosition;
  totals?: RetentionTotals;
}

/** How much a run deleted, in how many batches. */
export interface RetentionTotals {
  payloads: number;
  attempts: number;
  events: number;
  keys: number;
  batches: number;
}

/** Deletes everything RETENTION lets go, as of the run's start. */
export async function enforceRetention(input: RetentionInput): Promise<RetentionTotals> {
  const totals = input.totals ?? { payloads: 0, attempts: 0, events: 0, keys: 0, batches: 0 };
  if (input.retentionMs <= 0) return totals;
  const asOf = input.asOf ?? Date.now();
  let position = input.position ?? null;
  for (;;) {
    const pass = await deleteExpiredRows({
      asOf,
      retentionMs: input.retentionMs,
      batchSize: input.batchSize,
      position,
    });
    totals.payloads += pass.payloads;
    totals.attempts += pass.attempts;
    totals.events += pass.events;
    totals.keys += pass.keys;
    totals.batches += pass.batches;
    if (!pass.next) return totals;
    position = pass.next;
    if (workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof enforceRetention>({ ...input, asOf, position, totals });
    }
  }
}
