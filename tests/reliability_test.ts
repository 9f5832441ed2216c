/** No accepted event is ever lost: idempotent ingest, crashes, shutdown, scale-out. */
import assert from "node:assert/strict";
import {
  ADMIN_TOKEN,
  api,
  callApi,
  createOrganization,
  sharedInfra,
  stack,
  stopStackAfterTests,
  test,
  testEnv,
  usesExternalTemporal,
  usesPostgres,
  waitFor,
} from "./harness.ts";
import { type HeraldProcess, killHard, PAUSING_API, spawnHerald } from "./processes.ts";
import { type Receiver, startReceiver } from "./receiver.ts";

const call = callApi;

/** Publishes `count` events through the given APIs in turn, `concurrency` at a time. */
async function burst(
  apiUrls: () => string[],
  apiKey: string,
  count: number,
  concurrency: number,
  onSent: (sent: number) => void | Promise<void> = () => {},
): Promise<string[]> {
  const accepted: string[] = [];
  let next = 0;
  let sent = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const urls = apiUrls();
      try {
        const answer = await call(urls[i % urls.length]!, "POST", "/v1/events", apiKey, {
          event: "burst.item",
          object: "item",
          objectId: `item_${i}`,
          data: { i },
        });
        if (answer.status === 202) {
          accepted.push(...answer.body.payloads.map((p: { id: string }) => p.id));
        }
      } catch {
        // Refused while the process stops: not accepted, so not owed.
      }
      await onSent(++sent);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return accepted;
}

function receivedIds(receiver: Receiver): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of receiver.received) {
    const id = r.body._id as string;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

test("100 concurrent requests with one Idempotency-Key create exactly one event", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const body = { event: "order.paid", object: "order", objectId: "ord_1", data: { amount: 1 } };
  const answers = await Promise.all(
    Array.from({ length: 100 }, () =>
      api(s, "POST", "/v1/events", {
        token: org.apiKey,
        body,
        headers: { "idempotency-key": "pay-ord-1" },
      })),
  );
  assert.deepEqual([...new Set(answers.map((a) => a.status))], [202]);
  assert.equal(new Set(answers.map((a) => a.body.id)).size, 1);
  const events = await s.infra.database.db.selectFrom("events").select("id")
    .where("organization_id", "=", org.id).execute();
  assert.equal(events.length, 1);

  const conflict = await api(s, "POST", "/v1/events", {
    token: org.apiKey,
    body: { ...body, data: { amount: 2 } },
    headers: { "idempotency-key": "pay-ord-1" },
  });
  assert.equal(conflict.status, 409);
  assert.equal(conflict.body.error.code, "idempotency_conflict");
  const other = await createOrganization(s);
  const sameKeyElsewhere = await api(s, "POST", "/v1/events", {
    token: other.apiKey,
    body,
    headers: { "idempotency-key": "pay-ord-1" },
  });
  assert.equal(sameKeyElsewhere.status, 202, "keys are per organization");
  assert.notEqual(sameKeyElsewhere.body.id, answers[0]!.body.id);
});

test("contact writes honour Idempotency-Key: a repeat creates, changes or deletes nothing more", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const key = { "idempotency-key": "signup-ada" };
  const body = { fields: { email: "ada@example.com" } };
  const created = await Promise.all(
    Array.from(
      { length: 20 },
      () => api(s, "POST", "/v1/contacts", { token: org.apiKey, body, headers: key }),
    ),
  );
  assert.deepEqual([...new Set(created.map((a) => a.status))], [201]);
  assert.equal(new Set(created.map((a) => a.body.id)).size, 1);
  assert.deepEqual(created[1]!.body, created[0]!.body);
  const db = s.infra.database.db;
  const count = async (table: "contacts" | "events") =>
    (await db.selectFrom(table).select("id").where("organization_id", "=", org.id).execute())
      .length;
  assert.equal(await count("contacts"), 1);
  assert.equal(await count("events"), 1);
  const reused = await api(s, "POST", "/v1/contacts", {
    token: org.apiKey,
    body: { fields: { email: "other@example.com" } },
    headers: key,
  });
  assert.equal(reused.status, 409);

  const id = created[0]!.body.id;
  const patchKey = { "idempotency-key": "rename-ada" };
  const patch = { fields: { name: "Ada" } };
  for (let i = 0; i < 3; i++) {
    const answer = await api(s, "PATCH", `/v1/contacts/${id}`, {
      token: org.apiKey,
      body: patch,
      headers: patchKey,
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.fields.name, "Ada");
  }
  assert.equal(await count("events"), 2);
  const deleteKey = { "idempotency-key": "forget-ada" };
  for (let i = 0; i < 3; i++) {
    const answer = await api(s, "DELETE", `/v1/contacts/${id}`, {
      token: org.apiKey,
      headers: deleteKey,
    });
    assert.equal(answer.status, 204);
  }
  assert.equal(await count("events"), 3);
  assert.equal((await api(s, "DELETE", `/v1/contacts/${id}`, { token: org.apiKey })).status, 404);
});

test(
  "an API killed between commit and workflow start loses nothing: the reconciler starts the delivery",
  async () => {
    const infra = await sharedInfra();
    const taskQueue = `herald-reconcile-${crypto.randomUUID().slice(0, 6)}`;
    // The worker side (with the reconciler's schedule) runs in-process on that task queue.
    const s = await stack({
      TEMPORAL_TASK_QUEUE: taskQueue,
      RECONCILE_INTERVAL: "1s",
      RECONCILE_GRACE: "2s",
    });
    const crashing = await spawnHerald(
      "api",
      testEnv(infra, { TEMPORAL_TASK_QUEUE: taskQueue }),
      { entry: PAUSING_API },
    );
    const receiver = await startReceiver();
    try {
      const org = await createOrganization(s);
      await call(s.apiUrl, "POST", "/v1/webhooks", org.apiKey, { url: receiver.url });
      // The request commits, then pauses before starting the workflow; the process dies there.
      const request = call(crashing.apiUrl!, "POST", "/v1/events", org.apiKey, {
        event: "crash.test",
        object: "thing",
        data: {},
      }).catch(() => undefined);
      const db = infra.database.db;
      const payload = await waitFor(
        "the committed payload",
        () =>
          db.selectFrom("payloads").select(["id", "status"]).where("organization_id", "=", org.id)
            .executeTakeFirst(),
      );
      assert.equal(payload.status, "pending");
      await killHard(crashing);
      await request;
      await waitFor("the reconciled delivery", () => receiver.received.length === 1, 30_000);
      assert.equal(receiver.received[0]!.body._id, payload.id);
      await waitFor(
        "delivered",
        async () =>
          (await db.selectFrom("payloads").select("status").where("id", "=", payload.id)
            .executeTakeFirstOrThrow()).status === "delivered",
      );
    } finally {
      await killHard(crashing);
      await receiver.close();
    }
  },
  { ignore: !usesPostgres },
);

test(
  "two APIs and two workers share a burst; kill -9 of one worker mid-burst loses nothing",
  async () => {
    const infra = await sharedInfra();
    const env = testEnv(infra, {
      TEMPORAL_TASK_QUEUE: `herald-scale-${crypto.randomUUID().slice(0, 6)}`,
      DELIVERY_RETRY_INTERVAL: "500ms",
      RECONCILE_INTERVAL: "2s",
      RECONCILE_GRACE: "5s",
    });
    const processes: HeraldProcess[] = await Promise.all([
      spawnHerald("api", env),
      spawnHerald("api", env),
      spawnHerald("worker", env),
      spawnHerald("worker", env),
    ]);
    const [api1, api2, worker1] = processes;
    // A slow receiver that fails the first attempt of one payload in five: retries cross the
    // crash, and no payload can fail often enough to deactivate the webhook.
    const receiver = await startReceiver(async (n, req) => {
      await new Promise((r) => setTimeout(r, 20));
      const flap = n % 5 === 0 && req.body.deliveryAttempts === 1;
      return new Response(flap ? "flap" : "ok", { status: flap ? 500 : 200 });
    });
    try {
      const org = await call(api1!.apiUrl!, "POST", "/v1/organizations", ADMIN_TOKEN, {
        name: "Scale",
        plan: "business",
      });
      const webhook = await call(api1!.apiUrl!, "POST", "/v1/webhooks", org.body.apiKey, {
        url: receiver.url,
      });
      const accepted = await burst(
        () => [api1!.apiUrl!, api2!.apiUrl!],
        org.body.apiKey,
        200,
        8,
        async (sent) => {
          if (sent === 80) await killHard(worker1!);
        },
      );
      assert.equal(accepted.length, 200);
      const db = infra.database.db;
      await waitFor("every payload delivered", async () => {
        const rows = await db.selectFrom("payloads").select("status").where("id", "in", accepted)
          .execute();
        return rows.length === 200 && rows.every((r) => r.status === "delivered");
      }, 120_000);
      const got = receivedIds(receiver);
      const lost = accepted.filter((id) => !got.has(id));
      assert.deepEqual(lost, [], "payloads never received");
      const hook = await db.selectFrom("webhooks").select("status").where(
        "id",
        "=",
        webhook.body.id,
      )
        .executeTakeFirstOrThrow();
      assert.equal(hook.status, "active");
    } finally {
      await Promise.all(processes.map(killHard));
      await receiver.close();
    }
  },
  { ignore: !usesPostgres },
);

// `deno task start` with its embedded server: an external server (TEST_TEMPORAL_ADDRESS) takes no
// part, so the run against the dev server covers this.
test(
  "SIGTERM during a burst loses no accepted event and leaves no Temporal server behind",
  async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "herald-shutdown-" });
    const { caFile } = await sharedInfra();
    const env = {
      HERALD_DATA_DIR: dataDir,
      PORT: "0",
      TEMPORAL_DEV_PORT: "0",
      TEMPORAL_UI_PORT: "0",
      ADMIN_TOKEN,
      ALLOW_PRIVATE_NETWORKS: "true",
      TLS_CA_FILE: caFile,
      DELIVERY_RETRY_INTERVAL: "500ms",
      RECONCILE_INTERVAL: "2s",
      RECONCILE_GRACE: "2s",
    };
    const receiver = await startReceiver(async () => {
      await new Promise((r) => setTimeout(r, 30));
      return new Response("ok");
    });
    let current = await spawnHerald("start", env);
    try {
      const org = await call(current.apiUrl!, "POST", "/v1/organizations", ADMIN_TOKEN, {
        name: "Shutdown",
        plan: "business",
      });
      const apiKey = org.body.apiKey;
      await call(current.apiUrl!, "POST", "/v1/webhooks", apiKey, { url: receiver.url });
      const temporal = /Temporal:\s+(\S+)/.exec(current.banner)![1]!;
      const first = current;
      const accepted = await burst(() => [first.apiUrl!], apiKey, 120, 4, (sent) => {
        if (sent === 40) first.child.kill("SIGTERM");
      });
      const status = await first.exited;
      assert.equal(status.code, 0, first.stderr().slice(-2000));
      assert.ok(accepted.length >= 40, `${accepted.length} accepted`);
      const [host, port] = temporal.split(":");
      await assert.rejects(() => Deno.connect({ hostname: host!, port: Number(port) }));

      current = await spawnHerald("start", env);
      await waitFor("every accepted payload received", () => {
        const got = receivedIds(receiver);
        return accepted.every((id) => got.has(id));
      }, 90_000);
      for (const id of accepted.slice(0, 10)) {
        const p = await waitFor("delivered", async () => {
          const answer = await call(current.apiUrl!, "GET", `/v1/payloads/${id}`, apiKey);
          return answer.body.status === "delivered" && answer.body;
        });
        assert.equal(p.status, "delivered");
      }
    } finally {
      current.child.kill("SIGTERM");
      await current.exited;
      await receiver.close();
    }
  },
  { ignore: usesExternalTemporal },
);

stopStackAfterTests();
