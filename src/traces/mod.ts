/**
 * OpenTelemetry traces, off unless OTEL_EXPORTER_OTLP_ENDPOINT (or its traces-only variant) is
 * set. The SDK is loaded only then (./sdk.ts): with traces off, no span is ever made.
 */
import type { Tracing } from "./tracing.ts";

export type { Tracing };

/** Whether the environment asks for traces: an OTLP endpoint, and the SDK not disabled. */
export function tracesRequested(env: Record<string, string | undefined>): boolean {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return !!endpoint?.trim() && env.OTEL_SDK_DISABLED?.toLowerCase() !== "true" &&
    env.OTEL_TRACES_EXPORTER?.toLowerCase() !== "none";
}

let installed: Promise<Tracing> | undefined;

/** Installs the tracer provider once per process (the SDK's globals are per process). */
export function startTracing(): Promise<Tracing> {
  installed ??= import("./sdk.ts").then((sdk) => sdk.installTracing());
  return installed;
}
