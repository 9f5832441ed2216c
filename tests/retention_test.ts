/**
 * Retention: RETENTION's parsing, what is old enough to delete (final payloads with their attempts,
 * events left without payloads; never a payload in flight, never a key's event within its 24
 * hours), bounded batches, RETENTION=0, and the Temporal side: the schedule, the workflow, and the
 * embedded server's namespace retention.
 */
import assert from "node:assert/strict";
import { ScheduleNotFoundError } from "@temporalio/client";
import { MockActivityEnvironment } from "@temporalio/testing";
import { Worker } from "@temporalio/worker";
import { optionalTsToMs } from "@temporalio/common/lib/time.js";
import type { Kysely } from "kysely";
import { loadConfig } from "../src/config.ts";
import { jsonb } from "../src/db/mod.ts";
import type { Database, PayloadStatus } from "../src/db/schema.ts";
import { newId } from "../src/domain/ids.ts";
import {
  formatRetention,
  namespaceRetentionMs,
  retentionCutoffs,
} from "../src/domain/retention.ts";
import { startHerald } from "../src/herald.ts";
import { connectTemporal } from "../src/temporal/client.ts";
import { retentionScheduleId, WorkflowType } from "../src/temporal/names.ts";
import { ensureRetentionSchedule, matchNamespaceRetention } from "../src/temporal/retention.ts";
import {
  deleteExpiredRows,
  type RetentionProgress,
  type RetentionRequest,
} from "../src/usecases/retention.ts";
import { type Activities, createActivities } from "../workers/activities.ts";
import { httpDestination } from "../workers/send.ts";
import { workflowBundle } from "../workers/bundle.ts";
import type { RetentionTotals } from "../workflows/retention.ts";
import {
  api,
  createOrganization,
  createWebhook,
  sharedInfra,
  type Stack,
  stack,
  stopStackAfterTests,
  test,
  testEnv,
  waitFor,
} from "./harness.ts";
import { startReceiver } from "./receiver.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// ---- Configuration and rules (no stack) ---------------------------------------------------------

Deno.test("RETENTION is 30 days unless set, takes 30d, 12h or 0, and refuses anything else by name", () => {
  assert.equal(loadConfig({}).retentionMs, 30 * DAY);
  assert.equal(loadConfig({ RETENTION: "30d" }).retentionMs, 30 * DAY);
  assert.equal(loadConfig({ RETENTION: "12h" }).retentionMs, 12 * HOUR);
  assert.equal(loadConfig({ RETENTION: "90m" }).retentionMs, 90 * 60_000);
  assert.equal(loadConfig({ RETENTION: "0" }).retentionMs, 0);
  for (const bad of ["30", "30 days", "-1d", "0d", "1w", "1.5d", "forever"]) {
    assert.throws(
      () => loadConfig({ RETENTION: bad }),
      /RETENTION: expected a duration such as 30d or 12h, or 0 to keep everything/,
      bad,
    );
  }
});

Deno.test("rows older than RETENTION may go, but a keyed event stays for its key's 24 hours", () => {
  const now = 1_800_000_000_000;
  assert.deepEqual(retentionCutoffs(now, 30 * DAY), {
    rows: now - 30 * DAY,
    keyedEvents: now - 30 * DAY,
  });
  assert.deepEqual(retentionCutoffs(now, HOUR), { rows: now - HOUR, keyedEvents: now - DAY });
});

Deno.test("the Temporal namespace keeps closed workflows as long as RETENTION, and at least a day", () => {
  assert.equal(namespaceRetentionMs(30 * DAY), 30 * DAY);
  assert.equal(namespaceRetentionMs(36 * HOUR), 36 * HOUR);
  assert.equal(namespaceRetentionMs(12 * HOUR), DAY);
  assert.equal(namespaceRetentionMs(0), undefined);
  assert.deepEqual([30 * DAY, 36 * HOUR, 90 * 60_000, 45_000].map(formatRetention), [
    "30d",
    "36h",
    "90m",
    "45s",
  ]);
});

// ---- Deleting, on PostgreSQL --------------------------------------------------------------------

/** A Herald whose own schedule never deletes anything, so each test decides when rows go. */
const quiet = () => stack({ RETENTION: "0" });

/** One event with its payloads and their attempts, written as they would be at those times. */
interface Seeded {
  event: string;
  payloads: string[];
  attempts: string[];
}

/** A webhook to hang seeded payloads on; nothing is ever sent to it. */
async function seedWebhook(s: Stack) {
  const org = await createOrganization(s);
  const webhook = await createWebhook(s, org.apiKey, { url: "https://127.0.0.1:9/hooks" });
  return { organizationId: org.id, webhookId: webhook.id };
}

async function seedEvent(
  db: Kysely<Database>,
  owner: { organizationId: string; webhookId: string },
  event: {
    createdAt: number;
    payloads: Array<{ status: PayloadStatus; updatedAt: number; attempts: number }>;
  },
): Promise<Seeded> {
  const eventId = newId("evt");
  await db.insertInto("events").values({
    id: eventId,
    organization_id: owner.organizationId,
    type: "thing.happened",
    object: "thing",
    object_id: null,
    object_created_at: event.createdAt,
    data: jsonb({}),
    created_at: event.createdAt,
  }).execute();
  const seeded: Seeded = { event: eventId, payloads: [], attempts: [] };
  for (const p of event.payloads) {
    const payloadId = newId("pl");
    const final = !["pending", "delivering"].includes(p.status);
    await db.insertInto("payloads").values({
      id: payloadId,
      event_id: eventId,
      webhook_id: owner.webhookId,
      organization_id: owner.organizationId,
      status: p.status,
      run: 1,
      attempt_count: p.attempts,
      first_sent_at: p.attempts > 0 ? event.createdAt : null,
      last_body: null,
      created_at: event.createdAt,
      updated_at: p.updatedAt,
      finished_at: final ? p.updatedAt : null,
      cancel_reason: p.status === "cancelled" ? "webhook_deleted" : null,
    }).execute();
    seeded.payloads.push(payloadId);
    for (let number = 1; number <= p.attempts; number++) {
      const attemptId = newId("att");
      await db.insertInto("attempts").values({
        id: attemptId,
        payload_id: payloadId,
        run: 1,
        number,
        started_at: event.createdAt,
        duration_ms: 10,
        response_status: 500,
        error: null,
        response_body: "no",
        finished_at: event.createdAt + 10,
      }).execute();
      seeded.attempts.push(attemptId);
    }
  }
  return seeded;
}

/** Which of the seeded rows are still in the database, as `table:id`. */
async function remaining(db: Kysely<Database>, ...seeds: Seeded[]): Promise<Set<string>> {
  const ids = (list: string[]) => (list.length ? list : ["none"]);
  const [events, payloads, attempts] = await Promise.all([
    db.selectFrom("events").select("id").where("id", "in", ids(seeds.map((s) => s.event)))
      .execute(),
    db.selectFrom("payloads").select("id").where("id", "in", ids(seeds.flatMap((s) => s.payloads)))
      .execute(),
    db.selectFrom("attempts").select("id")
      .where("id", "in", ids(seeds.flatMap((s) => s.attempts))).execute(),
  ]);
  return new Set([
    ...events.map((r) => `events:${r.id}`),
    ...payloads.map((r) => `payloads:${r.id}`),
    ...attempts.map((r) => `attempts:${r.id}`),
  ]);
}

/** Every row of the seeds, as `table:id`. */
function rowsOf(...seeds: Seeded[]): string[] {
  return seeds.flatMap((s) => [
    `events:${s.event}`,
    ...s.payloads.map((id) => `payloads:${id}`),
    ...s.attempts.map((id) => `attempts:${id}`),
  ]);
}

/** Removes what a test seeded and kept, so the next test starts with no old rows. */
async function forget(db: Kysely<Database>, ...seeds: Seeded[]): Promise<void> {
  const payloads = seeds.flatMap((s) => s.payloads);
  if (payloads.length) {
    await db.deleteFrom("attempts").where("payload_id", "in", payloads).execute();
    await db.deleteFrom("payloads").where("id", "in", payloads).execute();
  }
  await db.deleteFrom("events").where("id", "in", seeds.map((s) => s.event)).execute();
}

test("retention deletes old final payloads with their attempts, old events left without payloads and expired keys, nothing else", async () => {
  const s = await quiet();
  const db = s.infra.database.db;
  const owner = await seedWebhook(s);
  const now = Date.now();
  const old = now - 40 * DAY;
  const recent = now - DAY;
  const one = (createdAt: number, status: PayloadStatus, updatedAt: number, attempts: number) =>
    seedEvent(db, owner, { createdAt, payloads: [{ status, updatedAt, attempts }] });

  const oldDelivered = await one(old, "delivered", old, 2);
  const oldFailed = await one(old, "failed", old, 5);
  const oldCancelled = await one(old, "cancelled", old, 0);
  const oldPending = await one(old, "pending", old, 0);
  const oldDelivering = await one(old, "delivering", old, 1);
  // An old event with one payload finished long ago and one resent and failed again yesterday.
  const mixed = await seedEvent(db, owner, {
    createdAt: old,
    payloads: [
      { status: "delivered", updatedAt: old, attempts: 1 },
      { status: "failed", updatedAt: recent, attempts: 3 },
    ],
  });
  const recentDelivered = await one(recent, "delivered", recent, 1);
  const oldWithoutPayloads = await seedEvent(db, owner, { createdAt: old, payloads: [] });
  const recentWithoutPayloads = await seedEvent(db, owner, { createdAt: recent, payloads: [] });
  // Keys of writes that recorded no event: one long past its 24 hours, one from yesterday.
  const keys = [`old-${crypto.randomUUID()}`, `recent-${crypto.randomUUID()}`];
  await db.insertInto("idempotency_keys").values([
    { organization_id: owner.organizationId, key: keys[0]!, request_hash: "h", created_at: old },
    { organization_id: owner.organizationId, key: keys[1]!, request_hash: "h", created_at: recent },
  ].map((k) => ({ ...k, event_id: null }))).execute();

  const progress = await deleteExpiredRows(db, { asOf: now, retentionMs: 30 * DAY });
  assert.deepEqual(
    { ...progress, longestBatchMs: 0 },
    { payloads: 4, attempts: 8, events: 4, keys: 1, batches: 3, longestBatchMs: 0, next: null },
  );

  const left = await remaining(
    db,
    oldDelivered,
    oldFailed,
    oldCancelled,
    oldPending,
    oldDelivering,
    mixed,
    recentDelivered,
    oldWithoutPayloads,
    recentWithoutPayloads,
  );
  const expected = [
    ...rowsOf(oldPending, oldDelivering, recentDelivered, recentWithoutPayloads),
    `events:${mixed.event}`,
    `payloads:${mixed.payloads[1]}`,
    ...mixed.attempts.slice(1).map((id) => `attempts:${id}`),
  ];
  assert.deepEqual([...left].sort(), expected.sort());
  const keptKeys = await db.selectFrom("idempotency_keys").select("key")
    .where("key", "in", keys).execute();
  assert.deepEqual(keptKeys.map((k) => k.key), [keys[1]]);
  // Nothing more goes on a second pass.
  const again = await deleteExpiredRows(db, { asOf: now, retentionMs: 30 * DAY });
  assert.equal(again.payloads + again.attempts + again.events + again.keys, 0);
  await forget(db, oldPending, oldDelivering, mixed, recentDelivered, recentWithoutPayloads);
  await db.deleteFrom("idempotency_keys").where("key", "=", keys[1]!).execute();
});

test("a keyed event and its payloads stay for the key's 24 hours, however short RETENTION is", async () => {
  const s = await quiet();
  const db = s.infra.database.db;
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  await createWebhook(s, org.apiKey, { url: receiver.url });
  const publish = (key?: string) =>
    api(s, "POST", "/v1/events", {
      token: org.apiKey,
      headers: key ? { "idempotency-key": key } : {},
      body: { event: "order.paid", object: "order", data: { amount: 1 } },
    });
  const key = `order-${crypto.randomUUID()}`;
  const keyed = await publish(key);
  const unkeyed = await publish();
  assert.equal(keyed.status, 202);
  const ids = [keyed.body.payloads[0].id, unkeyed.body.payloads[0].id];
  await waitFor("both payloads delivered", async () => {
    const rows = await db.selectFrom("payloads").select("status").where("id", "in", ids).execute();
    return rows.length === 2 && rows.every((r) => r.status === "delivered");
  });
  // Two hours later, with RETENTION=1h:
  const twoHoursAgo = Date.now() - 2 * HOUR;
  const events = [keyed.body.id, unkeyed.body.id];
  await db.updateTable("events").set({ created_at: twoHoursAgo }).where("id", "in", events)
    .execute();
  await db.updateTable("payloads").set({ created_at: twoHoursAgo, updated_at: twoHoursAgo })
    .where("id", "in", ids).execute();
  await db.updateTable("idempotency_keys").set({ created_at: twoHoursAgo })
    .where("event_id", "=", keyed.body.id).execute();

  const progress = await deleteExpiredRows(db, { asOf: Date.now(), retentionMs: HOUR });
  assert.equal(progress.payloads, 1);
  assert.equal(progress.events, 1);
  const left = await db.selectFrom("payloads").select("id").where("id", "in", ids).execute();
  assert.deepEqual(left.map((r) => r.id), [ids[0]]);
  // The repeat still answers as the first time, and creates nothing.
  const repeat = await publish(key);
  assert.equal(repeat.status, 202);
  assert.deepEqual(repeat.body, keyed.body);

  // A day later the key is over, and it goes with its event and payload.
  const dayAgo = Date.now() - DAY - HOUR;
  await db.updateTable("events").set({ created_at: dayAgo }).where("id", "=", keyed.body.id)
    .execute();
  await db.updateTable("payloads").set({ updated_at: dayAgo }).where("id", "=", ids[0]).execute();
  await db.updateTable("idempotency_keys").set({ created_at: dayAgo })
    .where("event_id", "=", keyed.body.id).execute();
  const later = await deleteExpiredRows(db, { asOf: Date.now(), retentionMs: HOUR });
  assert.deepEqual([later.payloads, later.events, later.keys], [1, 1, 1]);
  await receiver.close();
});

test("retention deletes in batches of the given size, each its own statement, going on from where a call stopped", async () => {
  const s = await quiet();
  const db = s.infra.database.db;
  const owner = await seedWebhook(s);
  const now = Date.now();
  const seedMany = () =>
    Promise.all(Array.from({ length: 25 }, (_, i) =>
      seedEvent(db, owner, {
        createdAt: now - 40 * DAY + i,
        payloads: [{ status: "delivered", updatedAt: now - 40 * DAY + i, attempts: 2 }],
      })));

  // In one call: 25 payloads in batches of 10 (10, 10, 5), then their 25 events (10, 10, 5).
  const first = await seedMany();
  const whole = await deleteExpiredRows(db, { asOf: now, retentionMs: 30 * DAY, batchSize: 10 });
  assert.deepEqual([whole.payloads, whole.attempts, whole.events, whole.batches], [25, 50, 25, 6]);
  assert.equal((await remaining(db, ...first)).size, 0);

  // With no time budget a call runs one batch and says where the next goes on.
  const second = await seedMany();
  const calls: RetentionProgress[] = [];
  let position: RetentionProgress["next"] = null;
  do {
    const call = await deleteExpiredRows(db, {
      asOf: now,
      retentionMs: 30 * DAY,
      batchSize: 10,
      budgetMs: 0,
      position,
    });
    calls.push(call);
    position = call.next;
  } while (position);
  assert.deepEqual(calls.map((c) => [c.payloads, c.events]), [
    [10, 0],
    [10, 0],
    [5, 0],
    [0, 0], // the payloads' end: nothing left to consider
    [0, 10],
    [0, 10],
    [0, 5],
    [0, 0], // the events' end
    [0, 0], // no key to delete
  ]);
  assert.equal((await remaining(db, ...second)).size, 0);
});

test("RETENTION=0 deletes nothing: no schedule, and the workflow and the deletion keep every row", async () => {
  const s = await quiet();
  const db = s.infra.database.db;
  const owner = await seedWebhook(s);
  const ancient = Date.now() - 3_650 * DAY;
  const seeded = await seedEvent(db, owner, {
    createdAt: ancient,
    payloads: [{ status: "delivered", updatedAt: ancient, attempts: 1 }],
  });
  const bare = await seedEvent(db, owner, { createdAt: ancient, payloads: [] });
  await assert.rejects(
    s.herald.temporal.schedule.getHandle(retentionScheduleId(s.taskQueue)).describe(),
    ScheduleNotFoundError,
  );
  const progress = await deleteExpiredRows(db, { asOf: Date.now(), retentionMs: 0 });
  assert.equal(
    progress.payloads + progress.attempts + progress.events + progress.keys + progress.batches,
    0,
  );
  const totals = await s.herald.temporal.workflow.execute(WorkflowType.enforceRetention, {
    workflowId: `retention-test-${crypto.randomUUID()}`,
    taskQueue: s.taskQueue,
    args: [{ retentionMs: 0 }],
  }) as RetentionTotals;
  assert.deepEqual(totals, { payloads: 0, attempts: 0, events: 0, keys: 0, batches: 0 });
  assert.deepEqual([...await remaining(db, seeded, bare)].sort(), rowsOf(seeded, bare).sort());
  await forget(db, seeded, bare);
});

test("the retention workflow deletes through its activity in batches until nothing old is left", async () => {
  const s = await quiet();
  const db = s.infra.database.db;
  const owner = await seedWebhook(s);
  const old = Date.now() - 40 * DAY;
  const seeded = await Promise.all(Array.from({ length: 25 }, (_, i) =>
    seedEvent(db, owner, {
      createdAt: old + i,
      payloads: [{ status: i % 2 ? "failed" : "cancelled", updatedAt: old + i, attempts: 1 }],
    })));
  const inFlight = await seedEvent(db, owner, {
    createdAt: old,
    payloads: [{ status: "delivering", updatedAt: old, attempts: 1 }],
  });
  const totals = await s.herald.temporal.workflow.execute(WorkflowType.enforceRetention, {
    workflowId: `retention-test-${crypto.randomUUID()}`,
    taskQueue: s.taskQueue,
    args: [{ retentionMs: 30 * DAY, batchSize: 10 }],
  }) as RetentionTotals;
  // 25 payloads in 3 batches; 26 old events (one kept by its payload in flight) in 3 batches.
  assert.deepEqual(totals, { payloads: 25, attempts: 25, events: 25, keys: 0, batches: 6 });
  assert.equal((await remaining(db, ...seeded)).size, 0);
  assert.equal((await remaining(db, inFlight)).size, rowsOf(inFlight).length);
  await forget(db, inFlight);
});

test("the retention workflow counts back from one moment for the whole run, going on from where each call stopped", async () => {
  const infra = await sharedInfra();
  const connection = await connectTemporal({
    address: infra.temporal.address,
    namespace: "default",
  });
  const taskQueue = `retention-stub-${crypto.randomUUID().slice(0, 8)}`;
  const requests: RetentionRequest[] = [];
  const answers: RetentionProgress[] = [
    { payloads: 3, attempts: 9, events: 0, keys: 0, batches: 3, longestBatchMs: 1, next: null },
    { payloads: 1, attempts: 2, events: 2, keys: 0, batches: 2, longestBatchMs: 1, next: null },
    { payloads: 0, attempts: 0, events: 5, keys: 3, batches: 1, longestBatchMs: 1, next: null },
  ];
  answers[0]!.next = { phase: "payloads", after: [10, "pl_a"] };
  answers[1]!.next = { phase: "events", after: [20, "evt_b"] };
  const activities: Partial<Activities> = {
    deleteExpiredRows: (request) => {
      requests.push(request);
      return Promise.resolve(answers[requests.length - 1]!);
    },
  };
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
  });
  const client = (await quiet()).herald.temporal;
  try {
    const totals = await worker.runUntil(
      client.workflow.execute(WorkflowType.enforceRetention, {
        workflowId: `retention-stub-${crypto.randomUUID()}`,
        taskQueue,
        args: [{ retentionMs: 30 * DAY, batchSize: 7 }],
      }),
    );
    assert.deepEqual(totals, { payloads: 4, attempts: 11, events: 7, keys: 3, batches: 6 });
    assert.equal(requests.length, 3);
    assert.equal(new Set(requests.map((r) => r.asOf)).size, 1);
    assert.ok(Math.abs(requests[0]!.asOf - Date.now()) < 60_000);
    assert.deepEqual(requests.map((r) => r.position), [null, answers[0]!.next, answers[1]!.next]);
    assert.ok(requests.every((r) => r.retentionMs === 30 * DAY && r.batchSize === 7));
  } finally {
    await connection.close();
  }
});

test("a retried retention activity goes on from the position its previous try last heartbeated", async () => {
  const s = await quiet();
  const db = s.infra.database.db;
  const owner = await seedWebhook(s);
  const old = Date.now() - 40 * DAY;
  const seeded = [];
  for (let i = 0; i < 3; i++) {
    seeded.push(
      await seedEvent(db, owner, {
        createdAt: old + i,
        payloads: [{ status: "delivered", updatedAt: old + i, attempts: 1 }],
      }),
    );
  }
  const activities = createActivities({
    db,
    temporal: s.herald.temporal,
    taskQueue: s.taskQueue,
    destination: httpDestination({ urlPolicy: s.herald.config.delivery }),
    delivery: s.herald.config.delivery,
  });
  // The previous try got past the first two payloads.
  const environment = new MockActivityEnvironment({
    heartbeatDetails: { phase: "payloads", after: [old + 1, seeded[1]!.payloads[0]!] },
  });
  const heartbeats: unknown[] = [];
  environment.on("heartbeat", (details: unknown) => heartbeats.push(details));
  const progress: RetentionProgress = await environment.run(activities.deleteExpiredRows, {
    asOf: Date.now(),
    retentionMs: 30 * DAY,
  });
  assert.deepEqual([progress.payloads, progress.events], [1, 1]);
  assert.deepEqual(
    [...await remaining(db, ...seeded)].sort(),
    rowsOf(seeded[0]!, seeded[1]!).sort(),
  );
  assert.deepEqual(heartbeats.at(-1), null);
  assert.ok(heartbeats.length >= 2);
  await forget(db, seeded[0]!, seeded[1]!);
});

// ---- The schedule and the namespace (last: this stack's schedule may run on the hour) ----------

test("the retention schedule runs every hour with RETENTION, deletes old rows when it runs, and goes with RETENTION=0", async () => {
  const s = await stack({ RETENTION: "30d" });
  const db = s.infra.database.db;
  const client = s.herald.temporal;
  const owner = await seedWebhook(s);
  const old = Date.now() - 40 * DAY;
  const doomed = await seedEvent(db, owner, {
    createdAt: old,
    payloads: [{ status: "failed", updatedAt: old, attempts: 5 }],
  });
  const kept = await seedEvent(db, owner, {
    createdAt: old,
    payloads: [{ status: "pending", updatedAt: old, attempts: 0 }],
  });
  const handle = client.schedule.getHandle(retentionScheduleId(s.taskQueue));
  const described = await handle.describe();
  assert.equal(described.spec.intervals?.[0]?.every, HOUR);
  assert.equal(described.action.type, "startWorkflow");
  assert.deepEqual(described.action.type === "startWorkflow" && described.action.args, [
    { retentionMs: 30 * DAY },
  ]);

  await handle.trigger();
  await waitFor(
    "the scheduled run to delete the old rows",
    async () => (await remaining(db, doomed)).size === 0,
  );
  assert.equal((await remaining(db, kept)).size, rowsOf(kept).length);
  const run = (await handle.describe()).info.recentActions.at(-1)!.action.workflow!;
  const result = await client.workflow.getHandle(run.workflowId)
    .result() as RetentionTotals;
  assert.ok(result.payloads >= 1 && result.attempts >= 5 && result.events >= 1);

  // Started again with another RETENTION, the schedule is updated; with 0 it is deleted.
  await ensureRetentionSchedule(client, s.taskQueue, 7 * DAY);
  const updated = await handle.describe();
  assert.deepEqual(updated.action.type === "startWorkflow" && updated.action.args, [
    { retentionMs: 7 * DAY },
  ]);
  await ensureRetentionSchedule(client, s.taskQueue, 0);
  await assert.rejects(handle.describe(), ScheduleNotFoundError);
  await ensureRetentionSchedule(client, s.taskQueue, 0);
  await forget(db, kept);
});

test("the embedded Temporal keeps closed workflows as long as RETENTION, and at least a day", async () => {
  const infra = await sharedInfra();
  const env = testEnv(infra, {
    RETENTION: "45d",
    TEMPORAL_DEV_PORT: "0",
    TEMPORAL_UI_PORT: "0",
    TEMPORAL_TASK_QUEUE: `herald-test-embedded-${crypto.randomUUID().slice(0, 6)}`,
  });
  delete env.TEMPORAL_ADDRESS;
  const herald = await startHerald(loadConfig(env), {
    roles: { api: false, worker: true },
    database: infra.database,
    progress: () => {},
  });
  try {
    const retention = async () => {
      const { config } = await herald.temporal.workflowService.describeNamespace({
        namespace: herald.config.temporal.namespace,
      });
      return optionalTsToMs(config?.workflowExecutionRetentionTtl);
    };
    assert.equal(await retention(), 45 * DAY);
    await matchNamespaceRetention(herald.temporal, 12 * HOUR, { update: true });
    assert.equal(await retention(), DAY);
    // RETENTION=0 leaves it as it is.
    await matchNamespaceRetention(herald.temporal, 0, { update: true });
    assert.equal(await retention(), DAY);
  } finally {
    await herald.stop();
  }
});

stopStackAfterTests();
