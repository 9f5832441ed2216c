/** The one error shape of the API: `{"error": {"code", "message", "details"}}`. */
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";

/** One problem with one field of a request. */
export interface ErrorDetail {
  path: string;
  message: string;
}

/** An error the API answers with; `code` is a stable snake_case string. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
    /** Extra response headers, such as Retry-After. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  /** The JSON body of this error. */
  toJSON() {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

/** 404 for an object that does not exist or belongs to another organization. */
export const notFound = (what: string) => new ApiError(404, "not_found", `${what} not found`);

const PART_NAMES: Record<string, string> = { json: "body", param: "path", query: "query" };

/** 422 listing each field and its problem; paths start with body, path, query or header. */
export function validationError(error: z.ZodError, target: string): ApiError {
  const where = PART_NAMES[target] ?? target;
  const details = error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join("."),
    // A record's bad key says why in its own issue ("Invalid key in record" says nothing).
    message: issue.code === "invalid_key" && issue.issues[0]
      ? `name: ${issue.issues[0].message}`
      : issue.message,
  }));
  const first = details[0];
  return new ApiError(
    422,
    "validation_failed",
    first ? `Invalid request: ${first.path}: ${first.message}` : "Invalid request",
    details,
  );
}
