/**
 * The retention scenario: 100,000 old final payloads with their attempts and events (plus fresh
 * and in-flight rows that must stay) in a fresh PostgreSQL database, deleted the way the hourly
 * workflow deletes them, while a writer keeps updating the rows that stay, to see how long a batch
 * ever makes it wait. Needs only a database: `deno task bench --only retention` starts nothing else.
 */
import { sql } from "kysely";
import postgres from "postgres";
import { migrateToLatest, openPostgres } from "../src/db/mod.ts";
import { deleteExpiredRows, RETENTION_BATCH } from "../src/usecases/retention.ts";
import { percentile, round } from "./stats.ts";

const DAY = 86_400_000;
const RETENTION_MS = 30 * DAY;
/** Old final payloads, one event each, with 1 to 5 attempts (3 on average). */
const OLD_PAYLOADS = 100_000;
/** Rows of each kind that must survive: fresh final payloads, old pending and old delivering. */
const SURVIVORS = 1_000;
/** Old events that never had a payload (no webhook was subscribed): they go too. */
const OLD_BARE_EVENTS = 1_000;

/** Fills the database: what goes, and what stays. */
async function seed(db: ReturnType<typeof openPostgres>["db"], now: number) {
  const old = now - 40 * DAY;
  const fresh = now - DAY;
  await sql`insert into organizations values ('org_bench', 'Bench', 'business', ${now}, ${now})`
    .execute(db);
  await sql`insert into webhooks (id, organization_id, name, url, signing_secret, status,
      created_at, updated_at) values ('wh_bench', 'org_bench', 'bench', 'https://127.0.0.1:9/',
      'whsec_x', 'active', ${now}, ${now})`.execute(db);
  // Events: the old ones of old final payloads, of survivors, and without payloads; fresh ones.
  const events = (prefix: string, count: number, at: number) =>
    sql`insert into events (id, organization_id, type, object, object_id, object_created_at, data,
        created_at)
      select ${prefix} || g, 'org_bench', 'bench.item', 'item', null, ${at}::bigint + g,
        '{"n": 1}'::jsonb, ${at}::bigint + g from generate_series(1, ${count}::integer) g`
      .execute(db);
  const payloads = (prefix: string, count: number, status: string, at: number) =>
    sql`insert into payloads (id, event_id, webhook_id, organization_id, status, run,
        attempt_count, first_sent_at, last_body, created_at, updated_at, finished_at)
      select 'pl_' || ${prefix} || g, 'evt_' || ${prefix} || g, 'wh_bench', 'org_bench',
        ${status}, 1, 1 + g % 5, ${at}::bigint + g, '{"_id": "x"}', ${at}::bigint + g,
        ${at}::bigint + g, case when ${status} in ('pending', 'delivering') then null
          else ${at}::bigint + g end
      from generate_series(1, ${count}::integer) g`.execute(db);
  const attempts = (prefix: string, at: number) =>
    sql`insert into attempts (id, payload_id, run, number, started_at, duration_ms,
        response_status, error, response_body, finished_at)
      select 'att_' || p.id || '_' || n, p.id, 1, n, ${at}::bigint, 12, 500, null, 'no',
        ${at}::bigint + 12
      from payloads p, generate_series(1, p.attempt_count) n where p.id like ${`pl_${prefix}%`}`
      .execute(db);
  const statuses = ["delivered", "failed", "cancelled"];
  const third = Math.ceil(OLD_PAYLOADS / statuses.length);
  for (const [i, status] of statuses.entries()) {
    const count = Math.min(third, OLD_PAYLOADS - i * third);
    await events(`evt_old${i}_`, count, old);
    await payloads(`old${i}_`, count, status, old);
    await attempts(`old${i}_`, old);
  }
  await events("evt_bare_", OLD_BARE_EVENTS, old);
  for (
    const [prefix, status, at] of [["fresh_", "delivered", fresh], ["pending_", "pending", old], [
      "delivering_",
      "delivering",
      old,
    ]] as const
  ) {
    await events(`evt_${prefix}`, SURVIVORS, at);
    await payloads(prefix, SURVIVORS, status, at);
    await attempts(prefix, at);
  }
  await sql`analyze`.execute(db);
}

/** How many rows each table holds. */
async function counts(db: ReturnType<typeof openPostgres>["db"]) {
  const { rows: [row] } = await sql<{ events: number; payloads: number; attempts: number }>`
    select (select count(*) from events)::integer as events,
      (select count(*) from payloads)::integer as payloads,
      (select count(*) from attempts)::integer as attempts`.execute(db);
  return row!;
}

/** The plan of a batch's candidate scan, e.g. "Index Scan using payloads_final_idx". */
async function candidatePlan(db: ReturnType<typeof openPostgres>["db"], cutoff: number) {
  const { rows } = await sql<{ "QUERY PLAN": string }>`explain select id, updated_at, event_id
    from payloads where status in ('delivered', 'failed', 'cancelled')
    and updated_at < ${cutoff}::bigint order by updated_at, id limit ${RETENTION_BATCH}::integer
    for update skip locked`.execute(db);
  const line = rows.map((r) => r["QUERY PLAN"]).find((l) => /Scan/.test(l)) ?? "";
  return line.replace(/^[\s>-]+/, "").replace(/\s+\(cost.*$/, "");
}

/** Runs the scenario in its own database on the server at `serverUrl`, then drops it. */
export async function measureRetention(
  serverUrl: string,
  say: (line: string) => void,
): Promise<Record<string, unknown>> {
  const name = `herald_bench_retention_${Date.now()}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const handle = openPostgres(url.toString(), { max: 4 });
  const { db } = handle;
  try {
    await migrateToLatest(db);
    const now = Date.now();
    let started = performance.now();
    await seed(db, now);
    const before = await counts(db);
    say(
      `  retention: seeded ${before.events} events, ${before.payloads} payloads, ${before.attempts} attempts in ${
        round((performance.now() - started) / 1000)
      } s`,
    );
    const plan = await candidatePlan(db, now - RETENTION_MS);

    // A writer that keeps touching rows that stay: the longest it waits is what a batch costs others.
    let writing = true;
    const waits: number[] = [];
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const t = performance.now();
        await sql`update payloads set updated_at = updated_at
          where id = ${`pl_delivering_${1 + (i % SURVIVORS)}`}`.execute(db);
        waits.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    started = performance.now();
    const progress = await deleteExpiredRows(db, {
      asOf: now,
      retentionMs: RETENTION_MS,
      budgetMs: Number.POSITIVE_INFINITY,
    });
    const seconds = (performance.now() - started) / 1000;
    writing = false;
    await writer;

    const after = await counts(db);
    const { rows: [kept] } = await sql<{ fresh: number; pending: number; delivering: number }>`
      select count(*) filter (where status = 'delivered')::integer as fresh,
        count(*) filter (where status = 'pending')::integer as pending,
        count(*) filter (where status = 'delivering')::integer as delivering
      from payloads`.execute(db);
    const rows = progress.payloads + progress.attempts + progress.events;
    const survived = kept!.fresh === SURVIVORS && kept!.pending === SURVIVORS &&
      kept!.delivering === SURVIVORS && after.events === 3 * SURVIVORS &&
      after.payloads === 3 * SURVIVORS && progress.payloads === OLD_PAYLOADS &&
      progress.events === OLD_PAYLOADS + OLD_BARE_EVENTS;
    return {
      oldPayloads: OLD_PAYLOADS,
      batchSize: RETENTION_BATCH,
      deleted: {
        payloads: progress.payloads,
        attempts: progress.attempts,
        events: progress.events,
      },
      seconds: round(seconds),
      rowsPerSecond: Math.round(rows / seconds),
      payloadsPerSecond: Math.round(progress.payloads / seconds),
      batches: progress.batches,
      longestBatchMs: progress.longestBatchMs,
      concurrentUpdateMs: {
        p50: round(percentile(waits, 50)),
        p99: round(percentile(waits, 99)),
        max: round(Math.max(...waits)),
        count: waits.length,
      },
      candidateScan: plan,
      remaining: after,
      survivorsIntact: survived,
    };
  } finally {
    await handle.close();
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}
