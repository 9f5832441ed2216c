/**
 * `Idempotency-Key` for writes that emit an event: the key is stored on the event, in the same
 * transaction as the write, so a repeat within 24 hours finds the first event and creates nothing.
 */
import { z } from "@hono/zod-openapi";
import type { Kysely, Transaction } from "kysely";
import type { Database, Event } from "../db/schema.ts";
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

/** The event a key already produced, or undefined; 409 when the key came with another request. */
async function previousEvent(
  db: Kysely<Database>,
  organizationId: string,
  idempotency: Idempotency | undefined,
): Promise<Event | undefined> {
  if (!idempotency) return undefined;
  const event = await db.selectFrom("events").selectAll()
    .where("organization_id", "=", organizationId)
    .where("idempotency_key", "=", idempotency.key)
    .where("created_at", ">", Date.now() - IDEMPOTENCY_WINDOW_MS).executeTakeFirst();
  if (!event) return undefined;
  if (event.request_hash !== idempotency.requestHash) {
    throw new ApiError(
      409,
      "idempotency_conflict",
      "This Idempotency-Key was used with a different request",
    );
  }
  return event;
}

/** Frees a key whose 24 hours are over, inside the transaction that is about to reuse it. */
async function releaseExpiredKey(
  tx: Transaction<Database>,
  organizationId: string,
  idempotency: Idempotency | undefined,
): Promise<void> {
  if (!idempotency) return;
  await tx.updateTable("events").set({ idempotency_key: null })
    .where("organization_id", "=", organizationId).where("idempotency_key", "=", idempotency.key)
    .where("created_at", "<=", Date.now() - IDEMPOTENCY_WINDOW_MS).execute();
}

/**
 * Runs a write that records a keyed event, in one transaction, at most once per key: a repeat
 * finds the first event and writes nothing. When a concurrent request with the same key wins the
 * race, the unique index refuses this one, and the winner's event is returned instead.
 */
export async function writeOnce<T>(
  db: Kysely<Database>,
  organizationId: string,
  idempotency: Idempotency | undefined,
  write: (tx: Transaction<Database>) => Promise<T>,
): Promise<{ written: T } | { previous: Event }> {
  const earlier = await previousEvent(db, organizationId, idempotency);
  if (earlier) return { previous: earlier };
  try {
    const written = await db.transaction().execute(async (tx) => {
      await releaseExpiredKey(tx, organizationId, idempotency);
      return await write(tx);
    });
    return { written };
  } catch (err) {
    const previous = await previousEvent(db, organizationId, idempotency);
    if (previous) return { previous };
    throw err;
  }
}
