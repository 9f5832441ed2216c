/**
 * Flow control's rules (SPEC §6.7): what an overload signal is, how `Retry-After` reads, and how
 * a webhook's pace falls after a signal and grows back while its receiver answers 200. Pure.
 */

/** The most a `Retry-After` pauses a webhook: a receiver cannot park its deliveries for hours. */
export const RETRY_AFTER_CAP_MS = 60_000;

/** The slowest pace Herald slows a webhook to, in POSTs per second. */
export const MIN_PACE = 1;

/**
 * How much longer a slot is than 1 / rate: 5 %, so the slots alone never ask for more than the
 * window below lets through.
 */
export const SLOT_MARGIN = 1.05;

/**
 * The window in which at most `rate` POSTs go: a second and a tenth, checked on the sends
 * themselves, so neither a timer that fires late nor a connection that takes longer to open than
 * the one before bunches rate + 1 POSTs into one second at the receiver.
 */
export const WINDOW_MS = 1100;

/** A slot this close (ms) is taken at once rather than waited for with a timer. */
export const SLOT_TOLERANCE_MS = 10;

/** After this long without an overload signal, a webhook's pace is lifted altogether. */
export const PACE_MEMORY_MS = 60_000;

/** The range of a webhook's `rateLimit`, in POSTs per second. */
export const RATE_LIMIT_RANGE = { min: 1, max: 10_000 } as const;

/** Why a delivery waits before its POST. */
export const WAIT_REASONS = ["rate_limit", "retry_after", "overload", "ordering"] as const;
/** Why a delivery waits before its POST. */
export type WaitReason = (typeof WAIT_REASONS)[number];

/** What one answer says about the receiver's load. */
export interface LoadSignal {
  /** The receiver said it is overloaded: 429, 503, or no answer within the timeout. */
  overloaded: boolean;
  /** How long it asked Herald to wait (`Retry-After`, capped), if it did. */
  retryAfterMs?: number;
}

/** Reads what an attempt's outcome says about the receiver's load. */
export function loadSignal(
  status: number | null,
  timedOut: boolean,
  retryAfter: string | null,
  now: number,
): LoadSignal {
  if (status !== 429 && status !== 503 && !timedOut) return { overloaded: false };
  const retryAfterMs = status === null ? undefined : parseRetryAfter(retryAfter, now);
  return retryAfterMs === undefined ? { overloaded: true } : { overloaded: true, retryAfterMs };
}

/**
 * `Retry-After` as a pause in ms: delay-seconds or an HTTP date (RFC 9110 §10.2.3), capped at
 * RETRY_AFTER_CAP_MS; undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  let ms: number;
  if (/^\d+$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    const date = Date.parse(text);
    if (Number.isNaN(date)) return undefined;
    ms = date - now;
  }
  return Math.min(Math.max(ms, 0), RETRY_AFTER_CAP_MS);
}

/**
 * The pace after an overload signal (multiplicative decrease): the first signal sets it to what
 * the receiver accepted in the last second; each later one halves it, at most once a second, so
 * a burst of answers to POSTs already in flight counts as one signal.
 */
export function paceAfterSignal(
  pace: number | null,
  changedAt: number,
  deliveredLastSecond: number,
  now: number,
): number {
  if (pace === null) return Math.max(MIN_PACE, deliveredLastSecond);
  if (now - changedAt < 1000) return pace;
  return Math.max(MIN_PACE, pace / 2);
}

/**
 * The pace after a 200 (additive increase): one 200 adds `max(1, pace / 10) / pace`, so a
 * second of 200s grows the pace by max(1, 10 %). Null lifts the pace: no signal for a minute.
 */
export function paceAfterSuccess(
  pace: number,
  signalAt: number | null,
  now: number,
): number | null {
  if (signalAt === null || now - signalAt > PACE_MEMORY_MS) return null;
  return pace + Math.max(1, pace / 10) / pace;
}

/** The pace in effect: the lower of the webhook's `rateLimit` and Herald's own, if any. */
export function effectiveRate(rateLimit: number | null, pace: number | null): number | null {
  if (rateLimit === null) return pace;
  if (pace === null) return rateLimit;
  return Math.min(rateLimit, pace);
}
