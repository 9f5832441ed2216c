/**
 * How webhooks are doing: one webhook's deliveries and attempts hour by hour over the last 24
 * hours, and a list's attempt totals over the same window.
 */
import { DELIVERED_STATUS } from "../domain/types.ts";
import { type Kysely, sql } from "kysely";
import type { Database } from "../db/schema.ts";

/** The window the statistics cover. */
export const STATS_WINDOW_MS = 24 * 3_600_000;
const HOUR_MS = 3_600_000;

/** One hour of a webhook's traffic. */
export interface HourStats {
  /** The hour's start (UNIX ms). */
  hour: number;
  /** Payloads created in the hour, by their status now. */
  delivered: number;
  failed: number;
  cancelled: number;
  open: number;
  /** Attempts started in the hour, those answered 200, and their latency percentiles. */
  attempts: number;
  succeeded: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

/** A webhook's last 24 hours. */
export interface WebhookStats {
  since: number;
  until: number;
  hours: HourStats[];
  attempts: number;
  succeeded: number;
  /** Attempts answered 200 over all attempts; null without attempts. */
  successRate: number | null;
}

/** A webhook's attempts over the last 24 hours, without the hours. */
export type AttemptTotals = Pick<WebhookStats, "attempts" | "succeeded" | "successRate">;

/** The window of statistics at `now`: whole hours, so a page reloaded within the hour agrees. */
function statsWindow(now: number): { since: number; until: number } {
  const until = Math.ceil(now / HOUR_MS) * HOUR_MS;
  return { since: until - STATS_WINDOW_MS, until };
}

/**
 * The finished attempts a window counts: started in it, of payloads created in it or the day
 * before (a resend of an older payload is left out), so the query stays on the webhooks' index of
 * recent payloads however long their history.
 */
function attemptsIn(db: Kysely<Database>, window: { since: number; until: number }) {
  return db.selectFrom("attempts")
    .innerJoin("payloads", "payloads.id", "attempts.payload_id")
    .where("payloads.created_at", ">=", window.since - STATS_WINDOW_MS)
    .where("attempts.started_at", ">=", window.since)
    .where("attempts.started_at", "<", window.until)
    .where("attempts.finished_at", "is not", null);
}

/** Attempts answered with the one status that delivers. */
const succeededCount = sql<number>`count(*) filter (
  where attempts.response_status = ${DELIVERED_STATUS})::int`;

/** The statistics of one webhook. */
export async function webhookStats(
  db: Kysely<Database>,
  webhookId: string,
  now = Date.now(),
): Promise<WebhookStats> {
  const { since, until } = statsWindow(now);
  const hours: HourStats[] = Array.from({ length: STATS_WINDOW_MS / HOUR_MS }, (_, i) => ({
    hour: since + i * HOUR_MS,
    delivered: 0,
    failed: 0,
    cancelled: 0,
    open: 0,
    attempts: 0,
    succeeded: 0,
    p50Ms: null,
    p95Ms: null,
  }));
  const bucket = (column: string) =>
    sql<number>`floor((${sql.ref(column)} - ${since}) / ${HOUR_MS})::int`;

  const payloads = await db.selectFrom("payloads")
    .select([bucket("created_at").as("bucket"), "status", sql<number>`count(*)::int`.as("count")])
    .where("webhook_id", "=", webhookId).where("created_at", ">=", since)
    .groupBy(["bucket", "status"]).execute();
  for (const row of payloads) {
    const hour = hours[row.bucket];
    if (!hour) continue;
    if (row.status === "delivered") hour.delivered += row.count;
    else if (row.status === "failed") hour.failed += row.count;
    else if (row.status === "cancelled") hour.cancelled += row.count;
    else hour.open += row.count;
  }

  const attempts = await attemptsIn(db, { since, until })
    .select([
      bucket("attempts.started_at").as("bucket"),
      sql<number>`count(*)::int`.as("count"),
      succeededCount.as("succeeded"),
      sql<number | null>`percentile_cont(0.5) within group (order by attempts.duration_ms)::float8`
        .as("p50"),
      sql<number | null>`percentile_cont(0.95) within group (order by attempts.duration_ms)::float8`
        .as("p95"),
    ])
    .where("payloads.webhook_id", "=", webhookId)
    .groupBy("bucket").execute();
  let total = 0;
  let succeeded = 0;
  for (const row of attempts) {
    const hour = hours[row.bucket];
    if (!hour) continue;
    hour.attempts = row.count;
    hour.succeeded = row.succeeded;
    hour.p50Ms = row.p50 === null ? null : Math.round(row.p50);
    hour.p95Ms = row.p95 === null ? null : Math.round(row.p95);
    total += row.count;
    succeeded += row.succeeded;
  }
  return {
    since,
    until,
    hours,
    attempts: total,
    succeeded,
    successRate: successRate(total, succeeded),
  };
}

/** Succeeded over all attempts; null without attempts. */
function successRate(attempts: number, succeeded: number): number | null {
  return attempts === 0 ? null : succeeded / attempts;
}

/**
 * The attempt totals of a page of webhooks in one query, over the window and rules of
 * {@link webhookStats}. Only the organization's payloads count: an id of another organization's
 * webhook gets zeros. Every id asked for has an entry.
 */
export async function attemptTotals(
  db: Kysely<Database>,
  organizationId: string,
  webhookIds: readonly string[],
  now = Date.now(),
): Promise<Map<string, AttemptTotals>> {
  const totals = new Map<string, AttemptTotals>(
    webhookIds.map((id) => [id, { attempts: 0, succeeded: 0, successRate: null }]),
  );
  if (webhookIds.length === 0) return totals;
  const rows = await attemptsIn(db, statsWindow(now))
    .select([
      "payloads.webhook_id as webhookId",
      sql<number>`count(*)::int`.as("attempts"),
      succeededCount.as("succeeded"),
    ])
    .where("payloads.organization_id", "=", organizationId)
    .where("payloads.webhook_id", "in", [...webhookIds])
    .groupBy("payloads.webhook_id").execute();
  for (const row of rows) {
    totals.set(row.webhookId, {
      attempts: row.attempts,
      succeeded: row.succeeded,
      successRate: successRate(row.attempts, row.succeeded),
    });
  }
  return totals;
}
