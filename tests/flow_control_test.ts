/**
 * Flow control (SPEC §6.7): a webhook's `rateLimit` holds across every worker, and a receiver that
 * answers 429 or 503 slows Herald down for the whole webhook, so a burst never deactivates a
 * receiver that is only slow. Receivers here behave like rate-limited gateways: a token bucket.
 */
import assert from "node:assert/strict";
import {
  ADMIN_TOKEN,
  api,
  type ApiAnswer,
  callApi,
  createOrganization,
  createWebhook,
  sharedInfra,
  stack,
  stopStackAfterTests,
  test,
  testEnv,
  usesPostgres,
  waitFor,
} from "./harness.ts";
import { peakPerSecond, type Received, startReceiver, tokenBucket } from "./receiver.ts";
import { spawnHerald } from "./processes.ts";

stopStackAfterTests();

/** Publishes `count` events, 16 publishers at a time, as a bulk import does. */
async function publishMany(
  publish: (i: number) => Promise<Pick<ApiAnswer, "status" | "body">>,
  count: number,
): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < count) {
      const answer = await publish(next++);
      assert.ok(answer.status === 201 || answer.status === 202, JSON.stringify(answer.body));
    }
  }));
  return performance.now() - started;
}

/** The distinct payload ids a receiver got, and each one's `deliveryAttempts` as sent. */
function attemptsById(received: Received[]): Map<string, number[]> {
  const byId = new Map<string, number[]>();
  for (const r of received) {
    const id = r.body._id as string;
    byId.set(id, [...byId.get(id) ?? [], r.body.deliveryAttempts as number]);
  }
  return byId;
}

test(
  "rateLimit 15 holds across two worker processes: 300 payloads, no second with more than 15 POSTs",
  async () => {
    const infra = await sharedInfra();
    // An API alone and two workers: every delivery goes through the task queue to either.
    const env = testEnv(infra, {
      TEMPORAL_TASK_QUEUE: `herald-flow-${crypto.randomUUID().slice(0, 6)}`,
    });
    const processes = await Promise.all([
      spawnHerald("api", env),
      spawnHerald("worker", env),
      spawnHerald("worker", env),
    ]);
    const [apiProcess, ...workers] = processes;
    // A receiver that takes 20 a second, as in the import below.
    const bucket = tokenBucket(20);
    const receiver = await startReceiver(bucket);
    try {
      const apiUrl = apiProcess!.apiUrl!;
      const org = (await callApi(apiUrl, "POST", "/v1/organizations", ADMIN_TOKEN, {
        name: "Flow",
        plan: "business",
      })).body;
      const webhook = (await callApi(apiUrl, "POST", "/v1/webhooks", org.apiKey, {
        url: receiver.url,
        rateLimit: 15,
      })).body;
      assert.equal(webhook.rateLimit, 15);
      await publishMany((i) =>
        callApi(apiUrl, "POST", "/v1/events", org.apiKey, {
          event: "import.row",
          object: "row",
          objectId: `r${i}`,
          data: { i },
        }), 300);
      await waitFor("300 deliveries", () => receiver.received.length >= 300, 60_000);
      // By Herald's clock (the database's, which both workers share) the limit holds in every
      // second; the receiver's clock also counts how the network and its own event loop bunch
      // requests, so it is only asked to have never limited Herald.
      const sent = await infra.database.db.selectFrom("attempts")
        .innerJoin("payloads", "payloads.id", "attempts.payload_id")
        .select("attempts.started_at").where("payloads.webhook_id", "=", webhook.id).execute();
      const sentPeak = peakPerSecond(sent.map((a) => ({ at: Number(a.started_at) })));
      assert.ok(sentPeak <= 15, `${sentPeak} POSTs sent in one second`);
      assert.equal(bucket.drawn(), 0);
      // A wait for the pace is not an attempt: every payload went out once, as attempt 1.
      const byId = attemptsById(receiver.received);
      assert.equal(byId.size, 300);
      for (const attempts of byId.values()) assert.deepEqual(attempts, [1]);
      // Both workers sent: the limit held between them, not inside one.
      for (const worker of workers) {
        const workerUrl = /Worker:\s+(http:\/\/\S+)/.exec(worker.banner)?.[1];
        const metrics = await (await fetch(`${workerUrl}/metrics`)).text();
        const sent = Number(
          /^herald_attempts_total\{outcome="success"\} (\d+)$/m.exec(metrics)?.[1],
        );
        assert.ok(sent > 0 && sent < 300, `a worker sent ${sent}`);
        assert.match(metrics, /^herald_delivery_waits_total\{reason="rate_limit"\} [1-9]\d*$/m);
      }
    } finally {
      for (const p of processes) p.child.kill("SIGTERM");
      await Promise.all(processes.map((p) => p.exited));
      await receiver.close();
    }
  },
  { ignore: !usesPostgres },
);

test("a 429 with Retry-After: 2 holds every payload of the webhook for 2 s", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const receiver = await startReceiver((n) =>
    n === 1
      ? new Response("busy", { status: 429, headers: { "retry-after": "2" } })
      : new Response("ok")
  );
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url });
  const publish = () =>
    api(s, "POST", "/v1/events", {
      token: org.apiKey,
      body: { event: "a.b", object: "o", data: {} },
    });
  const first = await publish();
  await waitFor("the 429", () => receiver.received.length === 1);
  const limitedAt = receiver.received[0]!.at;
  const flow = await waitFor("the pause", async () => {
    const w = (await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey })).body;
    return w.flowControl?.pausedUntil && w.flowControl;
  });
  assert.equal(flow.lastSignal.status, 429);
  assert.ok(flow.pausedUntil >= limitedAt + 1_900, JSON.stringify(flow));
  for (let i = 0; i < 5; i++) await publish();
  await waitFor("all six delivered", () => receiver.received.length === 7, 20_000);
  for (const r of receiver.received.slice(1)) {
    assert.ok(r.at - limitedAt >= 2_000, `a POST ${r.at - limitedAt} ms after the 429`);
  }
  // The payload that drew the 429 spent attempt 1 on it, and went out again as attempt 2.
  const firstId = first.body.payloads[0].id;
  assert.deepEqual(attemptsById(receiver.received).get(firstId), [1, 2]);
  await receiver.close();
});

/** The outsiders' scenario: 1,000 contacts imported into a receiver that takes 20 a second. */
async function importInto(rateLimit: number | null) {
  const s = await stack();
  const org = await createOrganization(s);
  const bucket = tokenBucket(20);
  const receiver = await startReceiver(bucket);
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url, rateLimit });
  const ms = await publishMany((i) =>
    api(s, "POST", "/v1/contacts", {
      token: org.apiKey,
      body: { fields: { email: `c${i}@example.com` } },
    }), 1_000);
  const reached = () => new Set(receiver.received.map((r) => r.body._id)).size;
  await waitFor(
    "every contact delivered",
    async () => reached() === 1_000 && await deliveredCount(s, org.apiKey, webhook.id) === 1_000,
    240_000,
  );
  const after = await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey });
  assert.equal(after.body.status, "active");
  await receiver.close();
  const sent = await s.infra.database.db.selectFrom("attempts")
    .innerJoin("payloads", "payloads.id", "attempts.payload_id")
    .select("attempts.started_at").where("payloads.webhook_id", "=", webhook.id).execute();
  return {
    ms,
    limited: bucket.drawn(),
    peak: peakPerSecond(receiver.received),
    sentPeak: peakPerSecond(sent.map((a) => ({ at: Number(a.started_at) }))),
  };
}

/** How many payloads of a webhook ended delivered. */
async function deliveredCount(s: Awaited<ReturnType<typeof stack>>, key: string, id: string) {
  let count = 0;
  let cursor: string | null = null;
  do {
    const page: ApiAnswer = await api(
      s,
      "GET",
      `/v1/webhooks/${id}/payloads?status=delivered&limit=100${cursor ? `&cursor=${cursor}` : ""}`,
      { token: key },
    );
    count += page.body.data.length;
    cursor = page.body.nextCursor;
  } while (cursor);
  return count;
}

test("a 1,000-contact import into a 20-per-second receiver: every contact arrives, the webhook stays active", async () => {
  const run = await importInto(null);
  // Herald paced itself after the first 429s; the publisher never waited for it.
  assert.ok(run.limited > 0, "the receiver limited the first burst");
  assert.ok(run.ms < 60_000, `the import took ${run.ms} ms`);
});

test("the same import with rateLimit 15 draws no 429 at all", async () => {
  const run = await importInto(15);
  // The receiver's bucket takes 20 a second: Herald's 15 leave room for requests that a slow
  // network or a busy event loop bunches on the way, which the receiver's clock would count.
  assert.equal(run.limited, 0);
  // By Herald's clock the limit holds in every second (docs/delivery.md, Flow control).
  assert.ok(run.sentPeak <= 15, `${run.sentPeak} POSTs sent in one second`);
  assert.ok(run.peak >= 10, `the receiver's busiest second had ${run.peak}: was Herald paced?`);
});
