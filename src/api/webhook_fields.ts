/** The zod schemas of a webhook's event types and custom headers, over the domain's rules. */
import { z } from "@hono/zod-openapi";
import {
  ALL_EVENTS,
  EVENT_TYPE_PATTERN,
  MAX_EVENT_NAME_LENGTH,
  MAX_EVENT_TYPES,
  TEST_EVENT,
} from "../domain/event_types.ts";
import {
  HEADER_NAME,
  HEADER_VALUE,
  MAX_HEADER_NAME_LENGTH,
  MAX_HEADER_VALUE_LENGTH,
  MAX_HEADERS,
  reservedHeaderProblem,
} from "../domain/webhook_headers.ts";
import { RATE_LIMIT_RANGE } from "../domain/flow.ts";
import { MASKED, Millis } from "./schemas.ts";
import { ORDERINGS } from "../domain/ordering.ts";

/** The events a webhook receives: exact names, `prefix.*` wildcards, or `*`. */
export const EventTypesSchema = z.array(
  z.string().max(MAX_EVENT_NAME_LENGTH + 2).regex(
    EVENT_TYPE_PATTERN,
    "an event name (invoice.paid), a wildcard over a prefix (invoice.*), or * for every event",
  ),
).min(1, 'give at least one event type, or ["*"] for every event')
  .max(MAX_EVENT_TYPES, `at most ${MAX_EVENT_TYPES} event types`)
  .superRefine((patterns, ctx) => {
    patterns.forEach((pattern, i) => {
      const problem = patterns.indexOf(pattern) < i
        ? `${pattern} is listed twice`
        : pattern === TEST_EVENT
        ? `${TEST_EVENT} is sent only by POST /v1/webhooks/{id}/test, whatever the event types`
        : pattern === ALL_EVENTS && patterns.length > 1
        ? "* covers every event: give it alone"
        : undefined;
      if (problem) ctx.addIssue({ code: "custom", path: [i], message: problem });
    });
  })
  .openapi({
    description: `Which events the webhook receives, at most ${MAX_EVENT_TYPES}: exact names ` +
      "(`contact.created`), prefix wildcards (`contact.*` matches `contact.created` and " +
      "`contact.note.added`, not `contact`), or `*` alone for every event (the default). A " +
      "`PATCH` replaces the whole list.",
    example: ["contact.*", "invoice.paid"],
  });

const HeaderName = z.string().min(1).max(MAX_HEADER_NAME_LENGTH)
  .regex(HEADER_NAME, "not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)")
  .superRefine((name, ctx) => {
    const problem = reservedHeaderProblem(name);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

const HeaderValue = z.string().trim().max(MAX_HEADER_VALUE_LENGTH).regex(
  HEADER_VALUE,
  "printable ASCII, spaces and tabs only (no CR, LF, NUL or other control characters)",
).refine((value) => value !== MASKED, `${MASKED} is how answers mask a value: send the value`);

/** Custom request headers: name → value, names case-insensitive and stored lowercase. */
export const HeadersSchema = z.record(HeaderName, HeaderValue)
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > MAX_HEADERS) {
      ctx.addIssue({ code: "custom", message: `at most ${MAX_HEADERS} headers` });
    }
    names.forEach((name, i) => {
      if (names.findIndex((other) => other.toLowerCase() === name.toLowerCase()) < i) {
        ctx.addIssue({ code: "custom", path: [name], message: "repeats a name in another case" });
      }
    });
  })
  .transform((headers) =>
    Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]))
  )
  .openapi({
    maxProperties: MAX_HEADERS,
    description: `Extra request headers sent with every attempt, at most ${MAX_HEADERS}; ` +
      "answers show their names with each value masked. Names Herald sets (`content-type`, " +
      "`user-agent`, `webhook-*`) or HTTP reserves (`host`, `content-length`, " +
      "`content-encoding`, `transfer-encoding`, `connection`, `keep-alive`, `upgrade`, `te`, " +
      "`trailer`, `expect`, `http2-settings`, `proxy-*`) are refused. A `PATCH` replaces the " +
      "whole map; `{}` removes them all.",
    example: { authorization: "Bearer receiver-token" },
  });

/** A webhook's custom headers as answers show them: their names, each value masked. */
export function maskHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(headers).map((name) => [name, MASKED]));
}

/** A webhook's own limit: at most this many POSTs per second across every worker. */
export const RateLimitSchema = z.number().int().min(RATE_LIMIT_RANGE.min).max(RATE_LIMIT_RANGE.max)
  .nullable()
  .openapi({
    description: `At most this many POSTs per second to the webhook (${RATE_LIMIT_RANGE.min} to ` +
      `${RATE_LIMIT_RANGE.max.toLocaleString("en")}), first attempts and retries alike, across ` +
      "every worker; `null` (the default) for no limit. A payload waiting for its turn waits " +
      "before its POST and spends none of its attempts.",
    example: 20,
  });

/** A webhook's ordering (SPEC §6 rule 8). */
export const OrderingSchema = z.enum(ORDERINGS).openapi({
  description: "`object`: the payloads of one object (same `object` and `objectId`, such as one " +
    "contact) are POSTed in the order their events were recorded, each after every earlier one " +
    "is final (`delivered`, `failed` or `cancelled`), and each carries a `webhook-sequence` " +
    "header; other objects are not held back. `none` (the default): each payload goes as soon " +
    "as it can. A change applies to payloads created after it.",
  example: "object",
});

/** How Herald has slowed a webhook down on its own, after its receiver signalled an overload. */
export const FlowControlSchema = z.object({
  pace: z.number().nullable().openapi({
    description: "POSTs per second Herald allows itself now (below `rateLimit`, if any); null " +
      "when only a Retry-After holds it back",
  }),
  pausedUntil: Millis.nullable().openapi({
    description: "No POST before this time: the receiver's Retry-After (capped at 60 s)",
  }),
  lastSignal: z.object({
    status: z.number().int().nullable().openapi({ description: "429 or 503; null for a timeout" }),
    error: z.string().nullable(),
    at: Millis,
  }).nullable(),
}).nullable().openapi("FlowControl", {
  description: "Set while Herald paces the webhook after a 429, a 503 or a timeout; the pace " +
    "grows back while answers are 200 and is lifted a minute after the last signal.",
});
