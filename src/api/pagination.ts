/** Opaque cursors over (created_at, id), newest first. */
import { ApiError } from "./errors.ts";
import { decodeBase64, encodeBase64Url } from "../domain/base64.ts";

/** Where a page starts: after the row with this time and id. */
export interface Cursor {
  createdAt: number;
  id: string;
}

/** Encodes a cursor for `nextCursor`. */
export function encodeCursor(cursor: Cursor): string {
  return encodeBase64Url(new TextEncoder().encode(JSON.stringify([cursor.createdAt, cursor.id])));
}

/** Decodes `?cursor`, or answers 422 `invalid_cursor`. */
export function decodeCursor(text: string | undefined): Cursor | undefined {
  if (text === undefined) return undefined;
  try {
    const base64 = text.replaceAll("-", "+").replaceAll("_", "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    const value = JSON.parse(new TextDecoder().decode(decodeBase64(padded)));
    if (
      Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) &&
      typeof value[1] === "string" && value[1].length <= 64
    ) {
      return { createdAt: value[0], id: value[1] };
    }
  } catch {
    // Falls through to the error below.
  }
  throw new ApiError(422, "invalid_cursor", "Invalid cursor: pass a nextCursor from a list", [
    { path: "query.cursor", message: "not a cursor this API issued" },
  ]);
}

/** Splits a fetched `limit + 1` rows into a page and the next cursor. */
export function toPage<T extends { created_at: number; id: string }, U>(
  rows: T[],
  limit: number,
  present: (row: T) => U,
): { data: U[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    data: page.map(present),
    nextCursor: rows.length > limit && last
      ? encodeCursor({ createdAt: last.created_at, id: last.id })
      : null,
  };
}
