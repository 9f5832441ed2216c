/**
 * One input rule at the edge, before any route or database sees a request: text everywhere
 * (path, query, every string and key of a JSON body) is free of NUL and lone surrogates, no key of
 * a JSON body is `__proto__`, the path is well percent-encoded, and a JSON body is nested at most
 * MAX_JSON_DEPTH levels (counted without recursion, before parsing).
 */
import type { MiddlewareHandler } from "hono";
import { ApiError, type ErrorDetail } from "./errors.ts";
import { hasUnstorable } from "../domain/text.ts";

/** The deepest JSON nesting a request body may have. */
export const MAX_JSON_DEPTH = 32;

// Control characters (C0, DEL and C1): never part of an id, a cursor or a path.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Why a text is refused, or undefined when it is fine. */
export function textProblem(text: string): string | undefined {
  if (hasUnstorable(text)) return "contains a NUL character or an unpaired surrogate";
  return undefined;
}

/** Why a text of a query (or a value decoded from one, such as a cursor's) is refused. */
export function queryTextProblem(text: string): string | undefined {
  return textProblem(text) ?? (CONTROL.test(text) ? "contains a control character" : undefined);
}

/** The deepest nesting of a JSON text, counted in one pass over it (strings skipped). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++; // a backslash escapes the next character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) deepest = Math.max(deepest, ++depth);
    else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return deepest;
}

/** Every string and key of a parsed JSON value that `textProblem` refuses, walked with a stack. */
export function badStrings(value: unknown, root = "body"): ErrorDetail[] {
  const found: ErrorDetail[] = [];
  const stack: Array<[unknown, string]> = [[value, root]];
  while (stack.length > 0 && found.length < 20) {
    const [current, path] = stack.pop()!;
    if (typeof current === "string") {
      const problem = textProblem(current);
      if (problem) found.push({ path, message: problem });
    } else if (Array.isArray(current)) {
      current.forEach((item, i) => stack.push([item, `${path}.${i}`]));
    } else if (current !== null && typeof current === "object") {
      for (const [key, item] of Object.entries(current)) {
        // A key the validators would drop silently (assigned, it sets an object's prototype).
        const problem = key === "__proto__"
          ? "__proto__ cannot be kept (objects take it as their prototype)"
          : textProblem(key);
        if (problem) found.push({ path: `${path}.${key}`, message: `name ${problem}` });
        stack.push([item, `${path}.${key}`]);
      }
    }
  }
  return found;
}

function refuseText(details: ErrorDetail[]): ApiError {
  return new ApiError(
    422,
    "validation_failed",
    `Invalid request: ${details[0]!.path}: ${details[0]!.message}`,
    details,
  );
}

/** Checks the path and the query of every request. */
export const checkPathAndQuery: MiddlewareHandler = async (c, next) => {
  const url = new URL(c.req.url);
  const details: ErrorDetail[] = [];
  for (const segment of url.pathname.split("/")) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw new ApiError(400, "bad_request", "Bad request: the path is not well percent-encoded");
    }
    if (textProblem(decoded) || CONTROL.test(decoded)) {
      details.push({
        path: "path",
        message: "contains a control character or an unpaired surrogate",
      });
      break;
    }
  }
  for (const [name, value] of url.searchParams) {
    const problem = textProblem(name) ?? queryTextProblem(value);
    if (problem) details.push({ path: `query.${name}`, message: problem });
  }
  if (details.length > 0) throw refuseText(details);
  await next();
};

/**
 * Checks a request body: valid UTF-8, and when it is JSON, its depth and its strings. Its parsed
 * form is left to the route's validator.
 */
export const checkBody: MiddlewareHandler = async (c, next) => {
  if (c.req.method === "GET" || c.req.method === "HEAD" || c.req.header("content-length") === "0") {
    return await next();
  }
  const bytes = await c.req.arrayBuffer();
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ApiError(400, "malformed_json", "Request body is not valid UTF-8");
  }
  if (/^application\/json\b/i.test(c.req.header("content-type") ?? "") && text.trim() !== "") {
    if (jsonDepth(text) > MAX_JSON_DEPTH) {
      throw new ApiError(
        400,
        "json_too_deep",
        `Request body is nested more than ${MAX_JSON_DEPTH} levels deep`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ApiError(400, "malformed_json", "Malformed JSON in request body");
    }
    const details = badStrings(parsed);
    if (details.length > 0) throw refuseText(details);
  }
  await next();
};
