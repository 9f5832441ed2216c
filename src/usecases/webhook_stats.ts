/** How a webhook is doing: its deliveries and attempts hour by hour over the last 24 hours. */
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

/**
 * The statistics of one webhook. Attempts are those of payloads created in the window or the
 * day before it (a resend of an older payload is left out), so the query stays on the webhook's
 * index of recent payloads however long its history.
 */
export async function webhookStats(
  db: Kysely<Database>,
  webhookId: string,
  now = Date.now(),
): Promise<WebhookStats> {
  // Whole hours, so a page reloaded within the hour shows the same buckets.
  const until = Math.ceil(now / HOUR_MS) * HOUR_MS;
  const since = until - STATS_WINDOW_MS;
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

  const attempts = await db.selectFrom("attempts")
    .innerJoin("payloads", "payloads.id", "attempts.payload_id")
    .select([
      bucket("attempts.started_at").as("bucket"),
      sql<number>`count(*)::int`.as("count"),
      sql<number>`count(*) filter (where attempts.response_status = ${DELIVERED_STATUS})::int`.as(
        "succeeded",
      ),
      sql<number | null>`percentile_cont(0.5) within group (order by attempts.duration_ms)::float8`
        .as("p50"),
      sql<number | null>`percentile_cont(0.95) within group (order by attempts.duration_ms)::float8`
        .as("p95"),
    ])
    .where("payloads.webhook_id", "=", webhookId)
    .where("payloads.created_at", ">=", since - STATS_WINDOW_MS)
    .where("attempts.started_at", ">=", since)
    .where("attempts.finished_at", "is not", null)
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
    successRate: total === 0 ? null : succeeded / total,
  };
}
