/**
 * Ordered delivery per object (SPEC §6 rule 8): for a webhook with `ordering: "object"`, the
 * payloads of one object (same `object` and `objectId`) are POSTed in the order their events were
 * recorded, each after every earlier one is final. Pure rules, no I/O.
 */
import { TEST_EVENT } from "./event_types.ts";

/** A webhook's ordering: `none` (each payload goes when it can) or `object`. */
export const ORDERINGS = ["none", "object"] as const;

/** A webhook's ordering. */
export type Ordering = (typeof ORDERINGS)[number];

/** The ordering of a webhook created without one: today's behaviour. */
export const DEFAULT_ORDERING: Ordering = "none";

/**
 * How long a payload waiting for its predecessor sleeps before it asks again, beside the signal
 * its predecessor sends when it ends: a durable timer that covers a lost signal, never a poll.
 */
export const PREDECESSOR_RECHECK_MS = 30_000;

/**
 * The key a payload of an ordered webhook waits its turn by, or null when it is not ordered: an
 * event without `objectId` is its own object, and a test send belongs to no object's order.
 */
export function orderKeyOf(
  ordering: Ordering,
  event: { type: string; object: string; objectId: string | null },
): string | null {
  if (ordering !== "object" || event.objectId === null || event.type === TEST_EVENT) return null;
  return `${event.object}:${event.objectId}`;
}

/**
 * How many items of `sequence` came after a later item of the same object: 0 when each object's
 * items arrived in their order. `position` is each item's place in its object's order.
 */
export function countOutOfOrder(
  sequence: ReadonlyArray<{ object: string; position: number }>,
): number {
  const highest = new Map<string, number>();
  let late = 0;
  for (const { object, position } of sequence) {
    const seen = highest.get(object);
    if (seen !== undefined && position < seen) late++;
    else highest.set(object, position);
  }
  return late;
}
