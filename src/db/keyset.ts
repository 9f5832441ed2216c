/** Keyset pages newest first: a page starts after a (created_at, id) position, not at an offset. */
import { type RawBuilder, sql, type SqlBool } from "kysely";

/** Where a page starts: after the row with this time and id. */
export interface Cursor {
  createdAt: number;
  id: string;
}

/**
 * The rows a page newest first takes after `cursor`: a row comparison on (created_at, id), the
 * order of the list and of its index, so each page starts where the last ended even among rows
 * created in the same millisecond.
 */
export function olderThan(
  cursor: Cursor,
  columns: { createdAt: string; id: string },
): RawBuilder<SqlBool> {
  return sql<SqlBool>`(${sql.ref(columns.createdAt)}, ${
    sql.ref(columns.id)
  }) < (${cursor.createdAt}, ${cursor.id})`;
}
