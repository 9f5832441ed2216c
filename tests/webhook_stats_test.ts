/**
 * A page of webhooks' 24-hour attempt totals, against the real database: one query for the whole
 * page, the window and rules of one webhook's statistics, and only the organization's webhooks.
 */
import assert from "node:assert/strict";
import type { Kysely, KyselyPlugin } from "kysely";
import {
  createOrganization,
  createWebhook,
  type Stack,
  stack,
  stopStackAfterTests,
  test,
} from "./harness.ts";
import { jsonb } from "../src/db/mod.ts";
import type { Database } from "../src/db/schema.ts";
import { newId } from "../src/domain/ids.ts";
import { DELIVERED_STATUS } from "../src/domain/types.ts";
import { attemptTotals, webhookStats } from "../src/usecases/webhook_stats.ts";

const HOUR = 3_600_000;
// An address literal: saving it needs no lookup, and nothing is ever sent to it.
const RECEIVER = "https://127.0.0.1:9/in";

/** An attempt to seed: when it started, what answered, and whether it finished. */
interface SeededAttempt {
  startedAt: number;
  status: number | null;
  finished?: boolean;
}

/**
 * One final payload of a webhook (created at `createdAt`) with these attempts; final, so no
 * delivery or reconciliation of the running stack ever picks it up.
 */
async function seedPayload(
  db: Kysely<Database>,
  owner: { organizationId: string; webhookId: string },
  createdAt: number,
  attempts: SeededAttempt[],
): Promise<void> {
  const eventId = newId("evt");
  await db.insertInto("events").values({
    id: eventId,
    organization_id: owner.organizationId,
    type: "thing.happened",
    object: "thing",
    object_id: null,
    object_created_at: createdAt,
    data: jsonb({}),
    created_at: createdAt,
  }).execute();
  const payloadId = newId("pl");
  await db.insertInto("payloads").values({
    id: payloadId,
    event_id: eventId,
    webhook_id: owner.webhookId,
    organization_id: owner.organizationId,
    status: "failed",
    run: 1,
    attempt_count: attempts.length,
    first_sent_at: createdAt,
    last_body: null,
    created_at: createdAt,
    updated_at: createdAt,
    finished_at: createdAt,
    cancel_reason: null,
  }).execute();
  for (const [i, attempt] of attempts.entries()) {
    await db.insertInto("attempts").values({
      id: newId("att"),
      payload_id: payloadId,
      run: 1,
      number: i + 1,
      started_at: attempt.startedAt,
      duration_ms: 10,
      response_status: attempt.status,
      error: null,
      response_body: null,
      finished_at: attempt.finished === false ? null : attempt.startedAt + 10,
    }).execute();
  }
}

/** An organization with `count` webhooks, as ids to seed payloads on. */
async function organizationWithWebhooks(s: Stack, count: number) {
  const org = await createOrganization(s);
  const webhookIds: string[] = [];
  for (let i = 0; i < count; i++) {
    webhookIds.push((await createWebhook(s, org.apiKey, { url: RECEIVER })).id);
  }
  return { organizationId: org.id, webhookIds };
}

/** A view of `db` that counts the queries run through it. */
function countingQueries(db: Kysely<Database>) {
  const counter = { queries: 0 };
  const plugin: KyselyPlugin = {
    transformQuery: (args) => {
      counter.queries++;
      return args.node;
    },
    transformResult: (args) => Promise.resolve(args.result),
  };
  return { db: db.withPlugin(plugin), counter };
}

test("a page's attempt totals: one query, the statistics' window and rules, only the organization's webhooks", async () => {
  const s = await stack();
  const { db } = s.infra.database;
  const now = Date.now();
  const ours = await organizationWithWebhooks(s, 3);
  const theirs = await organizationWithWebhooks(s, 1);
  const [busy, failing, quiet] = ours.webhookIds as [string, string, string];
  const other = theirs.webhookIds[0]!;
  const owned = (webhookId: string) => ({ organizationId: ours.organizationId, webhookId });

  await seedPayload(db, owned(busy), now - 2 * HOUR, [
    { startedAt: now - 2 * HOUR, status: 500 },
    { startedAt: now - HOUR, status: DELIVERED_STATUS },
  ]);
  await seedPayload(db, owned(busy), now - 3 * HOUR, [
    { startedAt: now - 3 * HOUR, status: DELIVERED_STATUS },
    // Still in flight: not an attempt with an answer yet.
    { startedAt: now - HOUR, status: null, finished: false },
  ]);
  // Outside the window: an attempt started 26 hours ago, and a resend of a 50-hour-old payload.
  await seedPayload(db, owned(busy), now - 26 * HOUR, [
    { startedAt: now - 26 * HOUR, status: DELIVERED_STATUS },
  ]);
  await seedPayload(db, owned(busy), now - 50 * HOUR, [
    { startedAt: now - HOUR, status: DELIVERED_STATUS },
  ]);
  await seedPayload(db, owned(failing), now - HOUR, [
    { startedAt: now - HOUR, status: 429 },
  ]);
  await seedPayload(db, { organizationId: theirs.organizationId, webhookId: other }, now - HOUR, [
    { startedAt: now - HOUR, status: DELIVERED_STATUS },
    { startedAt: now - HOUR, status: DELIVERED_STATUS },
  ]);

  const counting = countingQueries(db);
  const totals = await attemptTotals(
    counting.db,
    ours.organizationId,
    [busy, failing, quiet, other],
    now,
  );
  assert.equal(counting.counter.queries, 1, "one query for the whole page");
  assert.deepEqual(totals.get(busy), { attempts: 3, succeeded: 2, successRate: 2 / 3 });
  assert.deepEqual(totals.get(failing), { attempts: 1, succeeded: 0, successRate: 0 });
  assert.deepEqual(totals.get(quiet), { attempts: 0, succeeded: 0, successRate: null });
  assert.deepEqual(
    totals.get(other),
    { attempts: 0, succeeded: 0, successRate: null },
    "another organization's webhook counts nothing",
  );
  // The same counts as one webhook's statistics, which its own page shows.
  for (const id of [busy, failing, quiet]) {
    const { attempts, succeeded, successRate } = await webhookStats(db, id, now);
    assert.deepEqual(totals.get(id), { attempts, succeeded, successRate }, id);
  }
  // Its own organization sees the other webhook's attempts.
  const theirTotals = await attemptTotals(db, theirs.organizationId, [other], now);
  assert.deepEqual(theirTotals.get(other), { attempts: 2, succeeded: 2, successRate: 1 });

  const empty = countingQueries(db);
  assert.equal((await attemptTotals(empty.db, ours.organizationId, [], now)).size, 0);
  assert.equal(empty.counter.queries, 0, "an empty page asks nothing");
});

stopStackAfterTests();
