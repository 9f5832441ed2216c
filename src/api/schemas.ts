/** The API's shared zod schemas: they validate requests and describe the OpenAPI document. */
import { EVENT_NAME, MAX_EVENT_NAME_LENGTH } from "../domain/event_types.ts";
import { z } from "@hono/zod-openapi";

/** The error shape, for the OpenAPI document. */
export const ErrorSchema = z.object({
  error: z.object({
    code: z.string().openapi({ example: "validation_failed" }),
    message: z.string(),
    details: z.array(
      z.object({ path: z.string(), message: z.string() }).passthrough().openapi("ErrorDetail"),
    ),
  }),
}).openapi("Error");

/** Error responses every authenticated route may give. */
export function errorResponses(...statuses: number[]) {
  const descriptions: Record<number, string> = {
    400: "Malformed JSON",
    401: "No token or a bad token",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Body over 1 MiB",
    422: "Validation failed",
    503: "Not ready",
  };
  return Object.fromEntries(statuses.map((status) => [status, {
    description: descriptions[status] ?? "Error",
    content: { "application/json": { schema: ErrorSchema } },
  }]));
}

/** A JSON body in a request, required. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { body: { required: true, content: { "application/json": { schema } } } };
}

/** A JSON response. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** What the API shows instead of a secret: a verify token in a body as sent, a header's value. */
export const MASKED = "[redacted]";

/** What every id looks like: a prefix, an underscore, letters and digits. */
export const ID_PATTERN = /^[A-Za-z0-9_-]+$/;

/** An id in a path. */
export const IdParam = z.object({
  id: z.string().min(1).max(64).regex(ID_PATTERN, "not an id")
    .openapi({ param: { name: "id", in: "path" } }),
});

/** UNIX time in milliseconds: past 32 bits, so generated clients need the format. */
export const Millis = z.number().int().openapi({ format: "int64", example: 1764190000000 });

/** `?limit` and `?cursor` of a list. */
export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});

/** A list page. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), nextCursor: z.string().nullable() });
}

/** An event type: dotted lowercase words. */
export const EventName = z.string().max(MAX_EVENT_NAME_LENGTH)
  .regex(EVENT_NAME, "event names are dotted lowercase words such as invoice.paid")
  .openapi({ example: "invoice.paid" });
