/**
 * Retention: final payloads last changed before RETENTION go with their attempts, then the events
 * older than RETENTION that have no payload left, then Idempotency-Keys past both RETENTION and
 * their 24 hours. Each batch is one short statement over an index
 * range of at most `batchSize` rows, so a table of millions is never locked for long; the batches
 * walk each table with a keyset, so rows that must stay are read once per pass, not once a batch.
 */
import { type Kysely, type RawBuilder, sql } from "kysely";
import type { Database } from "../db/schema.ts";
import { type RetentionCutoffs, retentionCutoffs } from "../domain/retention.ts";
import { log } from "../log.ts";

/** Payloads (each with its attempts), events or keys one statement considers. */
export const RETENTION_BATCH = 1_000;
/** How long one call deletes before it returns where it stopped. */
const BUDGET_MS = 60_000;

/** Where a pass stands: the table it deletes from, and the last row it considered there. */
export interface RetentionPosition {
  phase: Phase;
  /** `[updated_at, id]` of a payload, `[created_at, id]` of an event or key; null at the start. */
  after: [number, string] | null;
}

/** What to delete: everything old as of `asOf`, from `position` on. */
export interface RetentionRequest {
  /** The moment RETENTION counts back from (UNIX ms): the same for every call of one pass. */
  asOf: number;
  /** RETENTION in milliseconds; 0 deletes nothing. */
  retentionMs: number;
  batchSize?: number;
  budgetMs?: number;
  position?: RetentionPosition | null;
}

/** The tables retention deletes from. */
type Table = "payloads" | "attempts" | "events" | "keys";

/** What one call deleted, and where the next one goes on. */
export interface RetentionProgress extends Record<Table, number> {
  /** Statements that considered at least one row. */
  batches: number;
  longestBatchMs: number;
  /** Null when nothing old is left; otherwise where the next call goes on. */
  next: RetentionPosition | null;
}

/** What one batch deleted, and the last row it considered (null: nothing was left to consider). */
interface BatchResult {
  deleted: Partial<Record<Table, number>>;
  last: [number, string] | null;
}

/** `and (column, id) > (after)` when a pass has gone some way already. */
function afterClause(column: "updated_at" | "created_at", after: [number, string] | null) {
  return after
    ? sql`and (${sql.ref(column)}, id) > (${after[0]}::bigint, ${after[1]}::text)`
    : sql``;
}

/**
 * The condition that keeps an event (and its payloads) while an Idempotency-Key younger than its
 * 24 hours points at it, joined to the query by `keyword`; only needed when RETENTION is shorter
 * than that window.
 */
function keyedEventGuard(
  cutoffs: RetentionCutoffs,
  eventId: RawBuilder<unknown>,
  keyword: RawBuilder<unknown>,
) {
  return cutoffs.keyedEvents < cutoffs.rows
    ? sql`${keyword} not exists (select 1 from idempotency_keys k where k.event_id = ${eventId}
        and k.created_at > ${cutoffs.keyedEvents}::bigint)`
    : sql``;
}

/** Deletes one batch of old final payloads and their attempts, in one statement. */
async function deletePayloadBatch(
  db: Kysely<Database>,
  cutoffs: RetentionCutoffs,
  size: number,
  after: [number, string] | null,
): Promise<BatchResult> {
  const keyedEventKept = keyedEventGuard(cutoffs, sql`c.event_id`, sql`where`);
  // The statuses are literals, as in the partial index payloads_final_idx. The lock rechecks them:
  // a payload resent meanwhile is no longer final and stays; one locked by a writer is skipped.
  const { rows: [row] } = await sql<
    { payloads: number; attempts: number; last_at: number | null; last_id: string | null }
  >`with candidates as (
      select id, updated_at, event_id from payloads
      where status in ('delivered', 'failed', 'cancelled') and updated_at < ${cutoffs.rows}::bigint
        ${afterClause("updated_at", after)}
      order by updated_at, id limit ${size}::integer
      for update skip locked
    ), doomed as (
      select c.id from candidates c ${keyedEventKept}
    ), attempts_gone as (
      delete from attempts where payload_id in (select id from doomed) returning 1
    ), payloads_gone as (
      delete from payloads where id in (select id from doomed) returning 1
    ), last as (
      select updated_at, id from candidates order by updated_at desc, id desc limit 1
    )
    select (select count(*) from payloads_gone)::integer as payloads,
      (select count(*) from attempts_gone)::integer as attempts,
      (select updated_at from last) as last_at, (select id from last) as last_id`.execute(db);
  return {
    deleted: { payloads: row?.payloads ?? 0, attempts: row?.attempts ?? 0 },
    last: row?.last_id ? [Number(row.last_at), row.last_id] : null,
  };
}

/** Deletes one batch of old events that have no payload left, in one statement. */
async function deleteEventBatch(
  db: Kysely<Database>,
  cutoffs: RetentionCutoffs,
  size: number,
  after: [number, string] | null,
): Promise<BatchResult> {
  const keyedEventKept = keyedEventGuard(cutoffs, sql`c.id`, sql`and`);
  const { rows: [row] } = await sql<
    { events: number; last_at: number | null; last_id: string | null }
  >`with candidates as (
      select id, created_at from events
      where created_at < ${cutoffs.rows}::bigint ${afterClause("created_at", after)}
      order by created_at, id limit ${size}::integer
      for update skip locked
    ), doomed as (
      select c.id from candidates c
      where not exists (select 1 from payloads p where p.event_id = c.id) ${keyedEventKept}
    ), events_gone as (
      delete from events where id in (select id from doomed) returning 1
    ), last as (
      select created_at, id from candidates order by created_at desc, id desc limit 1
    )
    select (select count(*) from events_gone)::integer as events,
      (select created_at from last) as last_at, (select id from last) as last_id`.execute(db);
  return {
    deleted: { events: row?.events ?? 0 },
    last: row?.last_id ? [Number(row.last_at), row.last_id] : null,
  };
}

/**
 * Deletes one batch of Idempotency-Keys past both RETENTION and their 24 hours (a repeat no longer
 * finds them; a reused key replaces its own). Every key found goes, so `after` is not needed.
 */
async function deleteKeyBatch(
  db: Kysely<Database>,
  cutoffs: RetentionCutoffs,
  size: number,
): Promise<BatchResult> {
  const { rows: [row] } = await sql<
    { keys: number; last_at: number | null; last_key: string | null }
  >`with doomed as (
      select organization_id, key, created_at from idempotency_keys
      where created_at < ${cutoffs.keyedEvents}::bigint
      order by created_at limit ${size}::integer
      for update skip locked
    ), keys_gone as (
      delete from idempotency_keys k using doomed d
      where k.organization_id = d.organization_id and k.key = d.key returning 1
    ), last as (
      select created_at, key from doomed order by created_at desc limit 1
    )
    select (select count(*) from keys_gone)::integer as keys,
      (select created_at from last) as last_at, (select key from last) as last_key`.execute(db);
  return {
    deleted: { keys: row?.keys ?? 0 },
    last: row?.last_key ? [Number(row.last_at), row.last_key] : null,
  };
}

/**
 * The phases of a pass, in order: payloads first, so that their events are free to go next, and
 * keys last.
 */
const ORDER = ["payloads", "events", "keys"] as const;
type Phase = typeof ORDER[number];
const PHASES: Record<Phase, typeof deletePayloadBatch> = {
  payloads: deletePayloadBatch,
  events: deleteEventBatch,
  keys: deleteKeyBatch,
};

/**
 * Deletes what RETENTION lets go, batch after batch, until nothing old is left or the time budget
 * is spent (at least one batch a call); `heartbeat` gets the position after each batch.
 */
export async function deleteExpiredRows(
  db: Kysely<Database>,
  request: RetentionRequest,
  heartbeat: (position: RetentionPosition | null) => void = () => {},
): Promise<RetentionProgress> {
  const progress: RetentionProgress = {
    payloads: 0,
    attempts: 0,
    events: 0,
    keys: 0,
    batches: 0,
    longestBatchMs: 0,
    next: null,
  };
  if (request.retentionMs <= 0) return progress;
  const cutoffs = retentionCutoffs(request.asOf, request.retentionMs);
  const size = request.batchSize ?? RETENTION_BATCH;
  const deadline = Date.now() + (request.budgetMs ?? BUDGET_MS);
  let position: RetentionPosition | null = request.position ?? { phase: ORDER[0], after: null };
  do {
    const started = performance.now();
    const batch: BatchResult = await PHASES[position.phase](db, cutoffs, size, position.after);
    const elapsedMs = performance.now() - started;
    if (batch.last) {
      progress.batches++;
      progress.longestBatchMs = Math.max(progress.longestBatchMs, Math.round(elapsedMs));
    }
    for (const [table, count] of Object.entries(batch.deleted) as [Table, number][]) {
      progress[table] += count;
    }
    const following: Phase | undefined = ORDER[ORDER.indexOf(position.phase) + 1];
    position = batch.last
      ? { phase: position.phase, after: batch.last }
      : following
      ? { phase: following, after: null }
      : null;
    heartbeat(position);
  } while (position && Date.now() < deadline);
  progress.next = position;
  if (progress.payloads + progress.events + progress.keys > 0) {
    log.info("retention deleted old rows", {
      payloads: progress.payloads,
      attempts: progress.attempts,
      events: progress.events,
      keys: progress.keys,
      batches: progress.batches,
    });
  }
  return progress;
}
