/**
 * Ordered delivery per object (SPEC §6 rule 8): with `ordering: "object"`, a receiver that mirrors
 * contacts gets each contact's updates in the order they happened, whatever the retries, the
 * crashes and the deactivations; other contacts are never held back.
 */
import assert from "node:assert/strict";
import {
  ADMIN_TOKEN,
  api,
  callApi,
  createOrganization,
  createWebhook,
  sharedInfra,
  type Stack,
  stack,
  stopStackAfterTests,
  test,
  testEnv,
  usesPostgres,
  waitFor,
} from "./harness.ts";
import { type Received, startReceiver } from "./receiver.ts";
import { type HeraldProcess, killHard, spawnHerald } from "./processes.ts";
import { countOutOfOrder } from "../src/domain/ordering.ts";

stopStackAfterTests();

const FAST = { DELIVERY_RETRY_INTERVAL: "300ms" };

/** Each received update as (contact, its `seq` field), in the order the receiver got them. */
function updatesOf(received: Received[]) {
  return received
    .filter((r) => r.body.event === "contact.updated")
    .map((r) => {
      const items = r.body.items as { _id: string; data: { seq: number } };
      return { object: items._id, position: items.data.seq, payloadId: r.body._id as string };
    });
}

/** The updates that counted: the first 200 of each payload, in the order they were answered. */
function deliveredUpdates(received: Received[], delivered: Set<string>) {
  const seen = new Set<string>();
  return updatesOf(received.filter((r) => delivered.has(r.rawBody))).filter((u) => {
    if (seen.has(u.payloadId)) return false;
    seen.add(u.payloadId);
    return true;
  });
}

/** Creates a contact and updates it `updates` times in sequence (`seq` 1 to `updates`). */
async function updateInSequence(
  // deno-lint-ignore no-explicit-any
  post: (method: string, path: string, body: unknown) => Promise<{ status: number; body: any }>,
  updates: number,
): Promise<string> {
  const created = await post("POST", "/v1/contacts", { fields: { seq: 0 } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  for (let seq = 1; seq <= updates; seq++) {
    const answer = await post("PATCH", `/v1/contacts/${created.body.id}`, { fields: { seq } });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  }
  return created.body.id;
}

function poster(s: Stack, apiKey: string) {
  return async (method: string, path: string, body: unknown) =>
    await api(s, method, path, { token: apiKey, body });
}

async function statusesOf(s: Stack, webhookId: string) {
  return await s.infra.database.db.selectFrom("payloads").select(["id", "status"])
    .where("webhook_id", "=", webhookId).execute();
}

test("the out-of-order check counts every update that came after a later one of its object", () => {
  assert.equal(countOutOfOrder([{ object: "a", position: 1 }, { object: "a", position: 2 }]), 0);
  assert.equal(
    countOutOfOrder([
      { object: "a", position: 2 },
      { object: "b", position: 1 },
      { object: "a", position: 1 },
      { object: "a", position: 3 },
    ]),
    1,
  );
});

test(
  "10 contacts × 10 updates, one first attempt in four answered 503: ordering object keeps each contact's order, none does not",
  async () => {
    const s = await stack(FAST);
    const org = await createOrganization(s);
    // One first attempt in four (of each receiver) gets a 503, the retry a 200.
    const flaky = () => {
      let firsts = 0;
      const delivered = new Set<string>();
      const receiver = startReceiver((_n, req) => {
        if (req.body.deliveryAttempts === 1 && ++firsts % 4 === 0) {
          return new Response("hiccup", { status: 503 });
        }
        delivered.add(req.rawBody);
        return new Response("ok");
      });
      return { receiver, delivered };
    };
    const ordered = flaky();
    const unordered = flaky();
    const [orderedReceiver, unorderedReceiver] = await Promise.all([
      ordered.receiver,
      unordered.receiver,
    ]);
    try {
      const orderedHook = await createWebhook(s, org.apiKey, {
        url: orderedReceiver.url,
        eventTypes: ["contact.updated"],
        ordering: "object",
      });
      assert.equal(orderedHook.ordering, "object");
      const unorderedHook = await createWebhook(s, org.apiKey, {
        url: unorderedReceiver.url,
        eventTypes: ["contact.updated"],
      });
      assert.equal(unorderedHook.ordering, "none");
      const post = poster(s, org.apiKey);
      const contacts = await Promise.all(
        Array.from({ length: 10 }, () => updateInSequence(post, 10)),
      );
      for (const hook of [orderedHook, unorderedHook]) {
        await waitFor(`100 delivered to ${hook.ordering}`, async () => {
          const rows = await statusesOf(s, hook.id);
          return rows.length === 100 && rows.every((r) => r.status === "delivered");
        }, 120_000);
      }
      const inOrder = deliveredUpdates(orderedReceiver.received, ordered.delivered);
      const asItCame = deliveredUpdates(unorderedReceiver.received, unordered.delivered);
      assert.equal(inOrder.length, 100);
      assert.equal(asItCame.length, 100);
      assert.equal(new Set(inOrder.map((u) => u.object)).size, contacts.length);
      // Every 503 was retried: some first attempts failed on each receiver.
      assert.ok(orderedReceiver.received.length > 100 && unorderedReceiver.received.length > 100);
      assert.equal(countOutOfOrder(inOrder), 0, "ordering object: updates out of order");
      const late = countOutOfOrder(asItCame);
      console.log(
        `  ordering none: ${late} of 100 updates came after a later one of their contact`,
      );
      // Each ordered POST says its place; a later update of a contact has a higher sequence.
      const sequences = new Map<string, number>();
      for (const r of orderedReceiver.received.filter((r) => ordered.delivered.has(r.rawBody))) {
        const sequence = Number(r.headers["webhook-sequence"]);
        const contact = (r.body.items as { _id: string })._id;
        assert.ok(sequence > (sequences.get(contact) ?? 0), `sequence ${sequence} of ${contact}`);
        sequences.set(contact, sequence);
      }
      assert.ok(unorderedReceiver.received.every((r) => !("webhook-sequence" in r.headers)));
    } finally {
      await Promise.all([orderedReceiver.close(), unorderedReceiver.close()]);
    }
  },
);

test("contacts are independent: while one contact's head retries, another's updates go", async () => {
  const s = await stack({ DELIVERY_RETRY_INTERVAL: "3s" });
  const org = await createOrganization(s);
  let stuck: string | undefined;
  const receiver = await startReceiver((_n, req) => {
    const contact = (req.body.items as { _id: string })._id;
    return contact === stuck ? new Response("down", { status: 500 }) : new Response("ok");
  });
  try {
    const webhook = await createWebhook(s, org.apiKey, {
      url: receiver.url,
      eventTypes: ["contact.updated"],
      ordering: "object",
    });
    const post = poster(s, org.apiKey);
    const created = await post("POST", "/v1/contacts", { fields: { seq: 0 } });
    stuck = created.body.id;
    for (let seq = 1; seq <= 3; seq++) {
      await post("PATCH", `/v1/contacts/${stuck}`, { fields: { seq } });
    }
    await waitFor("the stuck head's first attempt", () => receiver.received.length === 1);
    const other = await updateInSequence(post, 5);
    const others = () => updatesOf(receiver.received).filter((u) => u.object === other);
    await waitFor("the other contact's 5 updates", () => others().length === 5, 10_000);
    assert.deepEqual(others().map((u) => u.position), [1, 2, 3, 4, 5]);
    // Meanwhile the stuck contact got nothing but its head (first attempt and perhaps a retry).
    const stuckOnes = updatesOf(receiver.received).filter((u) => u.object === stuck);
    assert.ok(stuckOnes.every((u) => u.position === 1), JSON.stringify(stuckOnes));
    assert.ok(stuckOnes.length <= 2, `${stuckOnes.length} attempts of the head already`);
    stuck = undefined;
    await waitFor("all 8 delivered", async () => {
      const rows = await statusesOf(s, webhook.id);
      return rows.length === 8 && rows.every((r) => r.status === "delivered");
    }, 30_000);
    const positions = updatesOf(receiver.received).filter((u) => u.object === created.body.id)
      .map((u) => u.position);
    assert.deepEqual([...new Set(positions)], [1, 2, 3]);
    assert.equal(countOutOfOrder(updatesOf(receiver.received)), 0);
  } finally {
    await receiver.close();
  }
});

test(
  "a head that fails five times deactivates the webhook, the rest end cancelled unsent, and recover sends them in order",
  async () => {
    // No reconciler sweep within the test: the recovered payloads start at once or never.
    const s = await stack({ DELIVERY_RETRY_INTERVAL: "200ms", RECONCILE_INTERVAL: "1h" });
    const org = await createOrganization(s);
    let up = false;
    const receiver = await startReceiver(() =>
      up ? new Response("ok") : new Response("down", { status: 500 })
    );
    try {
      const webhook = await createWebhook(s, org.apiKey, {
        url: receiver.url,
        eventTypes: ["contact.updated"],
        ordering: "object",
      });
      const post = poster(s, org.apiKey);
      const since = Date.now() - 1;
      await updateInSequence(post, 5);
      await waitFor("the webhook deactivated, the rest cancelled", async () => {
        const hook = (await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey }))
          .body;
        const rows = await statusesOf(s, webhook.id);
        return hook.status === "deactivated" && rows.length === 5 &&
          rows.filter((r) => r.status === "failed").length === 1 &&
          rows.filter((r) => r.status === "cancelled").length === 4;
      }, 30_000);
      // Only the head was ever sent: five attempts of update 1.
      assert.deepEqual(updatesOf(receiver.received).map((u) => u.position), [1, 1, 1, 1, 1]);
      up = true;
      const activated = await api(s, "POST", `/v1/webhooks/${webhook.id}/activate`, {
        token: org.apiKey,
      });
      assert.equal(activated.status, 200, JSON.stringify(activated.body));
      const recovered = await api(s, "POST", `/v1/webhooks/${webhook.id}/recover`, {
        token: org.apiKey,
        body: { since },
      });
      assert.equal(recovered.status, 202, JSON.stringify(recovered.body));
      assert.equal(recovered.body.count, 5);
      await waitFor("all five delivered", async () => {
        const rows = await statusesOf(s, webhook.id);
        return rows.every((r) => r.status === "delivered") && rows;
      }, 30_000);
      const sent = updatesOf(receiver.received.slice(5)).map((u) => u.position);
      assert.deepEqual(sent, [1, 2, 3, 4, 5]);
    } finally {
      await receiver.close();
    }
  },
);

test(
  "a worker killed while successors wait loses no order and no payload",
  async () => {
    const infra = await sharedInfra();
    const env = testEnv(infra, {
      TEMPORAL_TASK_QUEUE: `herald-order-${crypto.randomUUID().slice(0, 6)}`,
      DELIVERY_RETRY_INTERVAL: "1s",
    });
    const processes: HeraldProcess[] = [];
    let failures = 0;
    const delivered = new Set<string>();
    // The head's first two attempts fail: its successors wait across the crash.
    const receiver = await startReceiver((_n, req) => {
      const data = (req.body.items as { data: { seq?: number } }).data;
      if (data.seq === 1 && failures < 2) {
        failures++;
        return new Response("down", { status: 500 });
      }
      delivered.add(req.rawBody);
      return new Response("ok");
    });
    try {
      const apiProcess = await spawnHerald("api", env);
      processes.push(apiProcess);
      const first = await spawnHerald("worker", env);
      processes.push(first);
      const apiUrl = apiProcess.apiUrl!;
      const org = (await callApi(apiUrl, "POST", "/v1/organizations", ADMIN_TOKEN, {
        name: "Ordered crash",
        plan: "business",
      })).body;
      const webhook = (await callApi(apiUrl, "POST", "/v1/webhooks", org.apiKey, {
        url: receiver.url,
        eventTypes: ["contact.updated"],
        ordering: "object",
      })).body;
      assert.equal(webhook.ordering, "object");
      await updateInSequence(
        (method, path, body) => callApi(apiUrl, method, path, org.apiKey, body),
        5,
      );
      await waitFor("the head's first failure", () => failures >= 1);
      await killHard(first);
      processes.push(await spawnHerald("worker", env));
      const db = infra.database.db;
      await waitFor("all five delivered", async () => {
        const rows = await db.selectFrom("payloads").select("status")
          .where("webhook_id", "=", webhook.id).execute();
        return rows.length === 5 && rows.every((r) => r.status === "delivered");
      }, 90_000);
      const got = deliveredUpdates(receiver.received, delivered);
      assert.deepEqual(got.map((u) => u.position), [1, 2, 3, 4, 5]);
    } finally {
      await Promise.all(processes.map(killHard));
      await receiver.close();
    }
  },
  { ignore: !usesPostgres },
);

test("a resend of one payload behind an open one waits its turn", async () => {
  const s = await stack({ DELIVERY_RETRY_INTERVAL: "2s" });
  const org = await createOrganization(s);
  let headDown = true;
  const delivered = new Set<string>();
  const receiver = await startReceiver((_n, req) => {
    const seq = (req.body.items as { data: { seq?: number } }).data.seq;
    if (seq === 1 && headDown) return new Response("down", { status: 500 });
    delivered.add(req.rawBody);
    return new Response("ok");
  });
  try {
    const webhook = await createWebhook(s, org.apiKey, {
      url: receiver.url,
      eventTypes: ["contact.updated"],
      ordering: "object",
    });
    await updateInSequence(poster(s, org.apiKey), 2);
    const [, second] = await s.infra.database.db.selectFrom("payloads").select("id")
      .where("webhook_id", "=", webhook.id).orderBy("seq").execute();
    await waitFor("the head's first failure", () => receiver.received.length >= 1);
    // An operator cancels the waiting second payload; its owner resends it at once.
    await s.herald.temporal.workflow.getHandle(`payload:${second!.id}`).cancel();
    await waitFor("the second cancelled", async () => {
      const rows = await statusesOf(s, webhook.id);
      return rows.find((r) => r.id === second!.id)?.status === "cancelled";
    });
    const resent = await waitFor("the resend", async () => {
      const answer = await api(s, "POST", `/v1/payloads/${second!.id}/resend`, {
        token: org.apiKey,
      });
      return answer.status === 202 && answer;
    }, 10_000);
    assert.equal(resent.status, 202);
    // It waits for the head, which is still retrying.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.deepEqual(
      updatesOf(receiver.received).map((u) => u.position).filter((p) => p === 2),
      [],
    );
    headDown = false;
    await waitFor("both delivered", async () => {
      const rows = await statusesOf(s, webhook.id);
      return rows.length === 2 && rows.every((r) => r.status === "delivered");
    }, 20_000);
    assert.deepEqual(deliveredUpdates(receiver.received, delivered).map((u) => u.position), [1, 2]);
  } finally {
    await receiver.close();
  }
});
