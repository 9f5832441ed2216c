/**
 * Herald's own spans, over the OpenTelemetry API only: one per API request, one per POST of an
 * attempt. Used only when traces are on (the SDK is installed); URLs appear as `redactUrl` writes
 * them, and requests by their route pattern, never their path or query.
 */
import { context, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { MiddlewareHandler } from "hono";
import { isDelivered } from "../domain/types.ts";
import { redactUrl } from "../domain/url_policy.ts";
import type { Destination } from "../usecases/attempts.ts";

const tracer = () => trace.getTracer("herald");

/** A server span per API request, continuing the caller's trace when it sends `traceparent`. */
export function traceRequests(): MiddlewareHandler {
  return async (c, next) => {
    const carrier: Record<string, string> = {};
    for (const name of ["traceparent", "tracestate"]) {
      const value = c.req.header(name);
      if (value) carrier[name] = value;
    }
    const parent = propagation.extract(context.active(), carrier);
    const span = tracer().startSpan(c.req.method, {
      kind: SpanKind.SERVER,
      attributes: { "http.request.method": c.req.method },
    }, parent);
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      const route = c.req.routePath;
      span.updateName(`${c.req.method} ${route}`);
      span.setAttributes({ "http.route": route, "http.response.status_code": c.res.status });
      if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}

/** The destination with a client span around each POST: status, duration, the redacted URL. */
export function tracedDestination(destination: Destination): Destination {
  return {
    validate: (url) => destination.validate(url),
    send: (request) => {
      let target: URL | undefined;
      try {
        target = new URL(request.url);
      } catch {
        // Sent anyway: the destination records why it failed.
      }
      return tracer().startActiveSpan("POST", {
        kind: SpanKind.CLIENT,
        attributes: {
          "http.request.method": "POST",
          "herald.webhook.url": redactUrl(request.url),
          "herald.payload.id": request.payloadId,
          ...(target && {
            "url.scheme": target.protocol.replace(":", ""),
            "server.address": target.hostname,
            "server.port": Number(target.port) || (target.protocol === "https:" ? 443 : 80),
          }),
        },
      }, async (span) => {
        try {
          const result = await destination.send(request);
          if (result.status !== null) span.setAttribute("http.response.status_code", result.status);
          if (!isDelivered(result.status)) {
            span.setAttribute(
              "error.type",
              result.refused
                ? "refused"
                : result.timedOut
                ? "timeout"
                : result.status === null
                ? "connection"
                : String(result.status),
            );
            // Error texts are stored with their URLs redacted already (workers/send.ts).
            span.setStatus({ code: SpanStatusCode.ERROR, message: result.error ?? undefined });
          }
          return result;
        } finally {
          span.end();
        }
      });
    },
  };
}
