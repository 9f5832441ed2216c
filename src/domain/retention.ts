/** Retention: which rows are old enough to delete, and how long Temporal keeps closed workflows. */
import { IDEMPOTENCY_WINDOW_MS } from "./types.ts";

/** Temporal's smallest retention for global namespaces and Temporal Cloud: one day. */
export const TEMPORAL_MIN_RETENTION_MS = 86_400_000;

/** The times before which rows may go, as of one moment. */
export interface RetentionCutoffs {
  /** Final payloads last changed before this go, with their attempts; so do older events. */
  rows: number;
  /**
   * Events with an Idempotency-Key (and their payloads) stay until their key's 24 hours are over,
   * so a repeat still answers as the first time, however short RETENTION is.
   */
  keyedEvents: number;
}

/** The cutoffs of a retention of `retentionMs` (more than 0) as of `asOf`. */
export function retentionCutoffs(asOf: number, retentionMs: number): RetentionCutoffs {
  const rows = asOf - retentionMs;
  return { rows, keyedEvents: Math.min(rows, asOf - IDEMPOTENCY_WINDOW_MS) };
}

/**
 * The Temporal namespace retention that matches RETENTION: the same, but at least one day (the
 * smallest Temporal Cloud and global namespaces take); undefined for 0, which leaves it as it is.
 */
export function namespaceRetentionMs(retentionMs: number): number | undefined {
  if (retentionMs <= 0) return undefined;
  return Math.max(retentionMs, TEMPORAL_MIN_RETENTION_MS);
}

/** A duration in the largest whole unit (`30d`, `36h`, `90m`, `45s`), for messages and commands. */
export function formatRetention(ms: number): string {
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return ms % 1_000 === 0 ? `${ms / 1_000}s` : `${ms}ms`;
}
