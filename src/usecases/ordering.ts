/**
 * Ordered delivery per object: a payload's turn (the earlier open payloads of its object to its
 * webhook) and the wake-up of the next one when a payload ends. The wait itself is the delivery
 * workflow's (workflows/deliver_payload.ts): a signal from here, a durable timer beside it.
 */
import { sql } from "kysely";
import { OPEN_STATUSES } from "../domain/types.ts";
import { wakeDelivery } from "../temporal/deliveries.ts";
import { log } from "../log.ts";
import type { Turn } from "../../workflows/types.ts";
import type { UseCaseDeps } from "./deps.ts";

/**
 * The turn of run `run` of an ordered payload: it waits while an earlier payload of its object to
 * the same webhook is open (`pending` or `delivering`), and while a deactivation of the webhook is
 * asked for but not yet applied (the payload behind a head that just failed ends `cancelled`).
 */
export async function turnOf(
  deps: Pick<UseCaseDeps, "db">,
  input: { payloadId: string; run: number },
): Promise<Turn> {
  const row = await deps.db.selectFrom("payloads")
    .select(["webhook_id", "order_key", "seq", "run", "status"])
    .where("id", "=", input.payloadId).executeTakeFirst();
  if (!row || row.run !== input.run) return { kind: "stopped" };
  if (!(OPEN_STATUSES as readonly string[]).includes(row.status)) return { kind: "stopped" };
  if (row.order_key === null || row.seq === null) return { kind: "go" };
  const predecessor = await deps.db.selectFrom("payloads").select("id")
    .where("webhook_id", "=", row.webhook_id).where("order_key", "=", row.order_key)
    .where("status", "in", OPEN_STATUSES).where("seq", "<", row.seq)
    .orderBy("seq", "desc").limit(1).executeTakeFirst();
  if (predecessor) {
    return { kind: "wait", predecessorId: predecessor.id, orderKey: row.order_key };
  }
  const deactivating = await deps.db.selectFrom("webhook_requests").select("id")
    .where("webhook_id", "=", row.webhook_id).where("applied_at", "is", null)
    .where("kind", "in", ["deactivate", "delete"]).limit(1).executeTakeFirst();
  if (deactivating) return { kind: "wait", predecessorId: null, orderKey: row.order_key };
  return { kind: "go" };
}

/**
 * Wakes the next open payload of the same object as `payloadId` (which has just ended), so it
 * takes its turn now rather than at its next timer.
 */
export async function releaseSuccessor(deps: UseCaseDeps, payloadId: string): Promise<void> {
  const { rows: [next] } = await sql<{ id: string }>`select s.id from payloads p
      join payloads s on s.webhook_id = p.webhook_id and s.order_key = p.order_key
        and s.seq > p.seq and s.status in ('pending', 'delivering')
      where p.id = ${payloadId} and p.order_key is not null
      order by s.seq limit 1`.execute(deps.db);
  if (next) await wakeDelivery(deps.temporal, next.id);
}

/** How many wake-ups run at once after a deactivation. */
const WAKE_CONCURRENCY = 16;

/**
 * Wakes the waiting deliveries of ordered payloads a deactivation (or deletion) just cancelled, so
 * their workflows end now and a `recover` can start them again at once.
 */
export async function wakeCancelled(deps: UseCaseDeps, payloadIds: string[]): Promise<void> {
  let next = 0;
  const wakeNext = async () => {
    while (next < payloadIds.length) {
      const payloadId = payloadIds[next++]!;
      try {
        await wakeDelivery(deps.temporal, payloadId);
      } catch (err) {
        // Its timer wakes it.
        log.warn("could not wake a cancelled delivery", { payloadId, error: String(err) });
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(WAKE_CONCURRENCY, payloadIds.length) }, wakeNext),
  );
}
