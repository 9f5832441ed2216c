/**
 * `Idempotency-Key` for writes: the key is stored in the same transaction as the write, so a
 * repeat within 24 hours finds the first write and creates nothing.
 */
import { z } from "@hono/zod-openapi";
import type { Kysely, Transaction } from "kysely";
import type { Database } from "../db/schema.ts";
import { ApiError } from "./errors.ts";
import { hashToken } from "../domain/secrets.ts";
import { IDEMPOTENCY_WINDOW_MS } from "../domain/types.ts";

/** The optional header, for route definitions. */
export const IdempotencyHeader = z.object({
  "idempotency-key": z.string().min(1).max(255).optional().openapi({
    description: "Repeats within 24 h return the first answer and create nothing",
  }),
});

/** A key and the fingerprint of the request it came with. */
export interface Idempotency {
  key: string;
  requestHash: string;
}

/** Reads the key; the fingerprint covers the method, the path and the body. */
export async function idempotencyOf(
  key: string | undefined,
  method: string,
  path: string,
  body: unknown,
): Promise<Idempotency | undefined> {
  if (!key) return undefined;
  return { key, requestHash: await hashToken(`${method} ${path} ${JSON.stringify(body ?? null)}`) };
}

/** What a key's first request left: the event it recorded, or null when it recorded none. */
export interface PreviousWrite {
  eventId: string | null;
}

/** The write a key already made, or undefined; 409 when the key came with another request. */
async function previousWrite(
  db: Kysely<Database>,
  organizationId: string,
  idempotency: Idempotency | undefined,
): Promise<PreviousWrite | undefined> {
  if (!idempotency) return undefined;
  const row = await db.selectFrom("idempotency_keys").select(["request_hash", "event_id"])
    .where("organization_id", "=", organizationId)
    .where("key", "=", idempotency.key)
    .where("created_at", ">", Date.now() - IDEMPOTENCY_WINDOW_MS).executeTakeFirst();
  if (!row) return undefined;
  if (row.request_hash !== idempotency.requestHash) {
    throw new ApiError(
      409,
      "idempotency_conflict",
      "This Idempotency-Key was used with a different request",
    );
  }
  return { eventId: row.event_id };
}

/**
 * Runs a keyed write in one transaction, at most once per key: the key is recorded in the same
 * transaction, with the event the write recorded or none (a PATCH that changes nothing), and a
 * repeat within 24 hours finds it and writes nothing. When a concurrent request with the same key
 * wins the race, the primary key refuses this one, and the winner's write is returned instead.
 */
export async function writeOnce<T extends { eventId: string | null }>(
  db: Kysely<Database>,
  organizationId: string,
  idempotency: Idempotency | undefined,
  write: (tx: Transaction<Database>) => Promise<T>,
): Promise<{ written: T } | { previous: PreviousWrite }> {
  const earlier = await previousWrite(db, organizationId, idempotency);
  if (earlier) return { previous: earlier };
  try {
    const written = await db.transaction().execute(async (tx) => {
      const result = await write(tx);
      if (idempotency) {
        const now = Date.now();
        // A key whose 24 hours are over is free again: its old row gives way to this one.
        await tx.deleteFrom("idempotency_keys")
          .where("organization_id", "=", organizationId).where("key", "=", idempotency.key)
          .where("created_at", "<=", now - IDEMPOTENCY_WINDOW_MS).execute();
        await tx.insertInto("idempotency_keys").values({
          organization_id: organizationId,
          key: idempotency.key,
          request_hash: idempotency.requestHash,
          event_id: result.eventId,
          created_at: now,
        }).execute();
      }
      return result;
    });
    return { written };
  } catch (err) {
    const previous = await previousWrite(db, organizationId, idempotency);
    if (previous) return { previous };
    throw err;
  }
}
