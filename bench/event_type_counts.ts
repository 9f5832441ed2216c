/**
 * What counting event types in the event's transaction costs when one type is hot: 16 publishers
 * record events of one type in one organization, PostgreSQL only (no Temporal), with no count,
 * with one count row per type, and with Herald's count (one of 8 rows per type, picked at random).
 *
 *   deno run -A bench/event_type_counts.ts        # DATABASE_URL, or the local PostgreSQL
 */
import postgres from "postgres";
import { sql, type Transaction } from "kysely";
import { jsonb, migrateToLatest, openPostgres } from "../src/db/mod.ts";
import type { Database } from "../src/db/schema.ts";
import { newId } from "../src/domain/ids.ts";
import { recordEvent } from "../src/usecases/events.ts";

const server = Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/postgres";
const admin = postgres(server, { max: 1, onnotice: () => {} });
const name = `herald_bench_counts_${Date.now()}`;
await admin.unsafe(`create database "${name}"`);
const url = new URL(server);
url.pathname = `/${name}`;
const { db, close } = openPostgres(url.toString(), { max: 16 });
await migrateToLatest(db);
await sql`create table single_count (organization_id text, name text, count bigint,
  last_seen_at bigint, primary key (organization_id, name))`.execute(db);
const org = newId("org");
await db.insertInto("organizations")
  .values({ id: org, name: "bench", plan: "business", created_at: 0, updated_at: 0 }).execute();
await db.insertInto("webhooks").values({
  id: newId("wh"),
  organization_id: org,
  name: "bench",
  url: "https://example.com/hooks",
  verify_token: null,
  signing_secret: "whsec_bench",
  retired_signing_secrets: jsonb([]),
  event_types: jsonb(["*"]),
  headers: jsonb({}),
  status: "active",
  deactivation_reason: null,
  deactivated_at: null,
  created_at: 0,
  updated_at: 0,
  deleted_at: null,
}).execute();

const event = { organizationId: org, type: "bench.item", object: "o", objectId: null, data: {} };
type Variant = "no count" | "one row per type" | "Herald (8 rows per type)";
/** recordEvent's statements before its count: the event, its webhooks, their payloads. */
async function eventAlone(tx: Transaction<Database>): Promise<number> {
  const [id, now] = [newId("evt"), Date.now()];
  await tx.insertInto("events").values({
    id,
    organization_id: org,
    type: event.type,
    object: "o",
    object_id: null,
    object_created_at: now,
    data: jsonb({}),
    created_at: now,
  }).execute();
  const webhooks = await tx.selectFrom("webhooks").select("id").where("organization_id", "=", org)
    .where(sql<boolean>`event_types ?| array['*', 'bench.*', 'bench.item']::text[]`).execute();
  await tx.insertInto("payloads").values(webhooks.map((w) => ({
    id: newId("pl"),
    event_id: id,
    webhook_id: w.id,
    organization_id: org,
    status: "pending" as const,
    run: 1,
    attempt_count: 0,
    created_at: now,
    updated_at: now,
  }))).execute();
  return now;
}

const variants: Record<Variant, (tx: Transaction<Database>) => Promise<unknown>> = {
  "no count": eventAlone,
  "one row per type": async (tx) => {
    const now = await eventAlone(tx);
    await sql`insert into single_count values (${org}, 'bench.item', 1, ${now})
      on conflict (organization_id, name) do update set count = single_count.count + 1,
      last_seen_at = greatest(single_count.last_seen_at, excluded.last_seen_at)`.execute(tx);
  },
  "Herald (8 rows per type)": (tx) => recordEvent(tx, event),
};

async function eventsPerSecond(variant: Variant, n: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next++ < n) await db.transaction().execute(variants[variant]);
  }));
  return Math.round(n / ((performance.now() - started) / 1000));
}

try {
  await eventsPerSecond("no count", 1000);
  const rates: Record<string, number[]> = {};
  for (let round = 0; round < 3; round++) {
    for (const variant of Object.keys(variants) as Variant[]) {
      (rates[variant] ??= []).push(await eventsPerSecond(variant, 3000));
    }
  }
  for (const [variant, r] of Object.entries(rates)) {
    console.log(`${variant}: ${r.join(", ")} events/s`);
  }
} finally {
  await close();
  await admin.unsafe(`drop database "${name}" with (force)`);
  await admin.end();
}
