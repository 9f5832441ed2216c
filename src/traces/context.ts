/**
 * Trace context kept with work that runs later, out of the call that asked for it (a workflow
 * start queued behind the API's answer). Over the OpenTelemetry API alone.
 */
import { type Context, context } from "@opentelemetry/api";

/** The trace context a call runs in, kept with work that starts later (a queued start). */
export function currentTraceContext(): Context {
  return context.active();
}

/** Runs `fn` in a trace context kept earlier, or in the current one when there is none. */
export function inTraceContext<T>(kept: Context | undefined, fn: () => T): T {
  return kept ? context.with(kept, fn) : fn();
}
