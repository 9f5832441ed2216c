/**
 * A webhook's pace, shared by every worker through its `webhook_flow` row: each POST of a paced
 * webhook takes the next free slot in one statement, and waits (a workflow timer) when the slot is
 * ahead; answers that signal an overload slow the webhook down, 200s let it grow back.
 */
import { type Kysely, sql } from "kysely";
import type { Database } from "../db/schema.ts";
import {
  type LoadSignal,
  paceAfterSignal,
  paceAfterSuccess,
  SLOT_MARGIN,
  SLOT_TOLERANCE_MS,
  type WaitReason,
  WINDOW_MS,
} from "../domain/flow.ts";

/** Whether a POST may go now, or how long to wait for its turn. */
export type SlotDecision =
  | {
    go: true;
    /** When the POST went through the window, on the database's clock (absent when unpaced). */
    at?: number;
  }
  | {
    go: false;
    /** How long to wait before asking again (ms). */
    waitMs: number;
    reason: WaitReason;
    /** The slot reserved for this POST: asked for again with it, it is not reserved twice. */
    slot: number;
  };

/** What the pace state of a webhook says about its next POST, read with the attempt's load. */
export interface PaceState {
  rateLimit: number | null;
  pace: number | null;
  pausedUntil: number;
}

/** Whether a webhook's POSTs go through the slot statement at all. */
export function isPaced(state: PaceState, now: number): boolean {
  return state.rateLimit !== null || state.pace !== null || state.pausedUntil > now;
}

/**
 * `isPaced` as a condition on the attempt's load (`w` the webhook, `f` its `webhook_flow` row),
 * negated: an unpaced webhook's attempt claims its number in the statement that loads it.
 */
export function unpacedSql(now: number) {
  return sql<boolean>`(w.rate_limit is null and f.pace is null
    and coalesce(f.paused_until, 0) <= ${now}::bigint)`;
}

/**
 * Takes the webhook's next free slot, or finds the one reserved earlier (`slot`), and lets the
 * POST through when that slot has come, no `Retry-After` holds, and fewer than `rate` POSTs went
 * in the last WINDOW_MS (so a late timer never bunches rate + 1 POSTs into one second). One
 * statement, under the row's lock, on the database's clock, which every worker shares.
 */
export async function takeSlot(
  db: Kysely<Database>,
  webhookId: string,
  slot: number | undefined,
): Promise<SlotDecision> {
  const reserved = slot ?? null;
  const { rows: [row] } = await sql<{
    go: boolean;
    now: number;
    slot: number;
    wait_ms: number;
    paused: boolean;
    pace: number | null;
    rate_limit: number | null;
  }>`with old as (
      select f.next_slot_at, f.recent_sends, f.paused_until, f.pace, w.rate_limit,
        (extract(epoch from clock_timestamp()) * 1000)::float8 as now
      from webhook_flow f join webhooks w on w.id = f.webhook_id
      where f.webhook_id = ${webhookId} for update of f
    ), planned as (
      select *, least(coalesce(rate_limit, 1e9), coalesce(pace, 1e9))::float8 as rate,
        ${SLOT_MARGIN * 1000}::float8 / least(coalesce(rate_limit, 1e9), coalesce(pace, 1e9))
          as gap,
        (${reserved}::float8 is null or paused_until > ${reserved}::float8) as reserving,
        array(select t from unnest(recent_sends) t where t > now - ${WINDOW_MS}::float8) as recent
      from old
    ), slotted as (
      select *, case when reserving then greatest(now, next_slot_at, paused_until::float8)
          else ${reserved}::float8 end as slot,
        (select min(t) from unnest(recent) t) as oldest
      from planned
    ), decided as (
      select *, (slot <= now + ${SLOT_TOLERANCE_MS}::float8 and paused_until <= now
        and cardinality(recent) + 1 <= rate) as go
      from slotted
    )
    update webhook_flow f set
      next_slot_at = case when d.reserving then d.slot + d.gap else f.next_slot_at end,
      recent_sends = case when d.go then d.recent || d.now else d.recent end
    from decided d where f.webhook_id = ${webhookId}
    returning d.go, d.now, d.slot, d.pace, d.rate_limit, d.paused_until > d.now as paused,
      greatest(d.slot, d.paused_until,
        case when cardinality(d.recent) + 1 > d.rate then d.oldest + ${WINDOW_MS}::float8
          else 0 end) - d.now as wait_ms`
    .execute(db);
  if (!row) return { go: true };
  if (row.go) return { go: true, at: Math.round(row.now) };
  const reason: WaitReason = row.paused
    ? "retry_after"
    : row.pace !== null && (row.rate_limit === null || row.pace < row.rate_limit)
    ? "overload"
    : "rate_limit";
  return { go: false, waitMs: Math.max(1, Math.ceil(row.wait_ms)), reason, slot: row.slot };
}

/** What one answer taught Herald about its receiver. */
export interface LoadReport {
  webhookId: string;
  signal: LoadSignal;
  delivered: boolean;
  /** Whether the webhook was paced when the attempt loaded it (a 200 then lets the pace grow). */
  paced: boolean;
  status: number | null;
  error: string | null;
  now: number;
}

/**
 * Slows the webhook down after an overload signal (and pauses it for a `Retry-After`), or lets
 * its pace grow back after a 200. A webhook nothing paces and that signals nothing costs nothing.
 */
export async function reportLoad(db: Kysely<Database>, report: LoadReport): Promise<void> {
  const { webhookId, signal, now } = report;
  if (signal.overloaded) {
    await db.transaction().execute(async (trx) => {
      await trx.insertInto("webhook_flow").values({ webhook_id: webhookId })
        .onConflict((oc) => oc.column("webhook_id").doNothing()).execute();
      const flow = await trx.selectFrom("webhook_flow").selectAll()
        .where("webhook_id", "=", webhookId).forUpdate().executeTakeFirstOrThrow();
      const delivered = flow.pace === null ? await deliveredLastSecond(trx, webhookId, now) : 0;
      const pace = paceAfterSignal(flow.pace, Number(flow.pace_changed_at), delivered, now);
      const pausedUntil = signal.retryAfterMs === undefined
        ? Number(flow.paused_until)
        : Math.max(Number(flow.paused_until), now + signal.retryAfterMs);
      await trx.updateTable("webhook_flow").set({
        pace,
        pace_changed_at: pace === flow.pace ? flow.pace_changed_at : now,
        paused_until: pausedUntil,
        signal_status: report.status,
        signal_error: report.error,
        signal_at: now,
      }).where("webhook_id", "=", webhookId).execute();
    });
    return;
  }
  if (!report.delivered || !report.paced) return;
  await db.transaction().execute(async (trx) => {
    const flow = await trx.selectFrom("webhook_flow").select(["pace", "signal_at"])
      .where("webhook_id", "=", webhookId).forUpdate().executeTakeFirst();
    if (!flow || flow.pace === null) return;
    const signalAt = flow.signal_at === null ? null : Number(flow.signal_at);
    await trx.updateTable("webhook_flow").set({ pace: paceAfterSuccess(flow.pace, signalAt, now) })
      .where("webhook_id", "=", webhookId).execute();
  });
}

/** How many payloads of the webhook its receiver accepted in the last second. */
async function deliveredLastSecond(
  db: Kysely<Database>,
  webhookId: string,
  now: number,
): Promise<number> {
  const { count } = await db.selectFrom("payloads")
    .select((eb) => eb.fn.countAll<string>().as("count"))
    .where("webhook_id", "=", webhookId).where("status", "=", "delivered")
    .where("finished_at", ">", now - 1000).executeTakeFirstOrThrow();
  return Number(count);
}

/** The pace of a webhook as its API answer shows it; null when Herald has not slowed it. */
export interface FlowView {
  /** POSTs per second Herald allows itself now, below the webhook's own `rateLimit`. */
  pace: number | null;
  /** No POST before this (a `Retry-After`), when it is ahead. */
  pausedUntil: number | null;
  /** The last overload signal: its status (null for a timeout), error and time. */
  lastSignal: { status: number | null; error: string | null; at: number } | null;
}

/** The flow views of some webhooks, by id (only those Herald has slowed or paused). */
export async function flowViews(
  db: Kysely<Database>,
  webhookIds: string[],
  now = Date.now(),
): Promise<Map<string, FlowView>> {
  const views = new Map<string, FlowView>();
  if (webhookIds.length === 0) return views;
  const rows = await db.selectFrom("webhook_flow").selectAll()
    .where("webhook_id", "in", webhookIds).execute();
  for (const row of rows) {
    const pausedUntil = Number(row.paused_until);
    if (row.pace === null && pausedUntil <= now && row.signal_at === null) continue;
    views.set(row.webhook_id, {
      pace: row.pace === null ? null : Math.round(row.pace * 10) / 10,
      pausedUntil: pausedUntil > now ? pausedUntil : null,
      lastSignal: row.signal_at === null
        ? null
        : { status: row.signal_status, error: row.signal_error, at: Number(row.signal_at) },
    });
  }
  return views;
}

/** Gives a webhook with a rate limit its flow row, so its POSTs take slots from the start. */
export async function ensureFlowRow(db: Kysely<Database>, webhookId: string): Promise<void> {
  await db.insertInto("webhook_flow").values({ webhook_id: webhookId })
    .onConflict((oc) => oc.column("webhook_id").doNothing()).execute();
}
