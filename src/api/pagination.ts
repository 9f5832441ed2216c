/** Opaque cursors: over (created_at, id), newest first, or over a name, in name order. */
import type { Cursor } from "../db/keyset.ts";
import { ApiError } from "./errors.ts";
import { queryTextProblem } from "./input.ts";
import { decodeBase64, encodeBase64Url } from "../domain/base64.ts";

function encode(value: unknown): string {
  return encodeBase64Url(new TextEncoder().encode(JSON.stringify(value)));
}

/**
 * The value inside a cursor when `valid` accepts it, or 422 `invalid_cursor`. Its text crosses the
 * same rule as the query it came in (422 `validation_failed`): no NUL, unpaired surrogate or
 * control character reaches a query through a cursor.
 */
function decode<T>(text: string, valid: (value: unknown) => value is T): T {
  let value: unknown;
  try {
    const base64 = text.replaceAll("-", "+").replaceAll("_", "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    value = JSON.parse(new TextDecoder().decode(decodeBase64(padded)));
  } catch {
    value = undefined;
  }
  if (valid(value)) {
    const texts = Array.isArray(value) ? value : Object.values(value as object);
    for (const part of texts) {
      const problem = typeof part === "string" ? queryTextProblem(part) : undefined;
      if (problem) {
        throw new ApiError(422, "validation_failed", `Invalid request: query.cursor: ${problem}`, [
          { path: "query.cursor", message: problem },
        ]);
      }
    }
    return value;
  }
  throw new ApiError(422, "invalid_cursor", "Invalid cursor: pass a nextCursor from a list", [
    { path: "query.cursor", message: "not a cursor this API issued" },
  ]);
}

/** Encodes a cursor for `nextCursor`. */
export function encodeCursor(cursor: Cursor): string {
  return encode([cursor.createdAt, cursor.id]);
}

/** Decodes `?cursor`, or answers 422 `invalid_cursor`. */
export function decodeCursor(text: string | undefined): Cursor | undefined {
  if (text === undefined) return undefined;
  const [createdAt, id] = decode(
    text,
    (v): v is [number, string] =>
      Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) &&
      typeof v[1] === "string" && v[1].length <= 64,
  );
  return { createdAt, id };
}

/** Decodes `?cursor` of a list in name order: the name the page starts after. */
export function decodeNameCursor(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return decode(
    text,
    (v): v is { after: string } =>
      typeof v === "object" && v !== null && "after" in v && typeof v.after === "string" &&
      v.after.length <= 200,
  ).after;
}

/** Splits a fetched `limit + 1` rows into a page and, when more follow, the cursor after it. */
function split<T, U>(
  rows: T[],
  limit: number,
  present: (row: T) => U,
  cursorAfter: (row: T) => string,
): { data: U[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    data: page.map(present),
    nextCursor: rows.length > limit && last ? cursorAfter(last) : null,
  };
}

/** A page of a list newest first, from `limit + 1` rows. */
export function toPage<T extends { created_at: number; id: string }, U>(
  rows: T[],
  limit: number,
  present: (row: T) => U,
): { data: U[]; nextCursor: string | null } {
  return split(rows, limit, present, (r) => encodeCursor({ createdAt: r.created_at, id: r.id }));
}

/** A page of a list in name order, from `limit + 1` rows. */
export function toNamePage<T extends { name: string }, U>(
  rows: T[],
  limit: number,
  present: (row: T) => U,
): { data: U[]; nextCursor: string | null } {
  return split(rows, limit, present, (r) => encode({ after: r.name }));
}
