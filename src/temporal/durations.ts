/**
 * Temporal's protobuf durations, from and to milliseconds. The SDK's own helpers live in an
 * internal module (or are deprecated), so Herald keeps the two conversions it needs.
 */
import Long from "long";
import type { google } from "@temporalio/proto";

/** A duration of `ms` milliseconds as Temporal's API takes it. */
export function durationOf(ms: number): google.protobuf.IDuration {
  return { seconds: Long.fromNumber(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

/** A duration from Temporal's API in milliseconds; undefined when it has none. */
export function millisecondsOf(
  duration: google.protobuf.IDuration | null | undefined,
): number | undefined {
  if (!duration) return undefined;
  return Long.fromValue(duration.seconds ?? 0).toNumber() * 1000 +
    Math.round((duration.nanos ?? 0) / 1e6);
}
