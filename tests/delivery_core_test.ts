// deno-lint-ignore-file no-explicit-any
/**
 * The delivery core end to end: attempts always bounded whatever a receiver answers, one meaning
 * per status, how a run ends in Temporal, exact attempt records, and webhook changes that go
 * through the lifecycle workflow even when a signal is lost.
 */
import assert from "node:assert/strict";
import {
  api,
  createOrganization,
  createWebhook,
  type Stack,
  stack,
  stopStackAfterTests,
  test,
  waitFor,
} from "./harness.ts";
import { type Receiver, startReceiver } from "./receiver.ts";
import { deliveryWorkflowId, lifecycleWorkflowId, WorkflowType } from "../src/temporal/names.ts";
import { settleClosedDeliveries, startPendingDeliveries } from "../src/usecases/reconcile.ts";
import { jsonb } from "../src/db/mod.ts";

const FAST = { DELIVERY_RETRY_INTERVAL: "300ms" };
/** A reconciler that runs every second and acts on what is a second old. */
const RECONCILING = { ...FAST, RECONCILE_INTERVAL: "1s", RECONCILE_GRACE: "1s" };

/** The first bytes of a PNG file: a signature with 0x00 bytes, then an IHDR chunk. */
const PNG = new Uint8Array([
  0x89,
  0x50,
  0x4e,
  0x47,
  0x0d,
  0x0a,
  0x1a,
  0x0a,
  0x00,
  0x00,
  0x00,
  0x0d,
  0x49,
  0x48,
  0x44,
  0x52,
  0x00,
  0x00,
  0x00,
  0x01,
  0x00,
  0x00,
  0x00,
  0x01,
  0x08,
  0x06,
  0x00,
  0x00,
  0x00,
  0x1f,
  0x15,
  0xc4,
]);

async function publish(s: Stack, apiKey: string) {
  const answer = await api(s, "POST", "/v1/events", {
    token: apiKey,
    body: { event: "thing.happened", object: "thing", data: { n: 1 } },
  });
  assert.equal(answer.status, 202, JSON.stringify(answer.body));
  return answer.body.payloads as Array<{ id: string; webhookId: string }>;
}

async function payload(s: Stack, apiKey: string, id: string) {
  return (await api(s, "GET", `/v1/payloads/${id}`, { token: apiKey })).body;
}

/** Waits until the payload's delivery workflow has closed; after that nothing more is sent. */
async function closedRun(s: Stack, payloadId: string) {
  const handle = s.herald.temporal.workflow.getHandle(deliveryWorkflowId(payloadId));
  return await waitFor("the delivery workflow to close", async () => {
    const description = await handle.describe();
    return description.status.name !== "RUNNING" && description;
  }, 60_000);
}

/** One webhook of a new organization, pointing at a new receiver. */
async function oneWebhook(s: Stack, answer: (n: number) => Response | Promise<Response>) {
  const org = await createOrganization(s);
  const receiver = await startReceiver(answer);
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url });
  return { org, receiver, webhook };
}

function withoutUnstorable(text: string) {
  return !text.includes("\u0000");
}

test("a receiver answering 200 with a PNG body gets exactly one POST; the payload is delivered", async () => {
  const s = await stack(FAST);
  const { org, receiver } = await oneWebhook(s, () => new Response(PNG, { status: 200 }));
  const [p] = await publish(s, org.apiKey);
  await closedRun(s, p!.id);
  assert.equal(receiver.received.length, 1);
  const final = await payload(s, org.apiKey, p!.id);
  assert.equal(final.status, "delivered");
  assert.equal(final.attemptLog.length, 1);
  const body: string = final.attemptLog[0].responseBody;
  assert.ok(withoutUnstorable(body), "NUL bytes are replaced");
  assert.ok(body.includes("PNG") && body.includes("\uFFFD"), JSON.stringify(body));
  await receiver.close();
});

test("a receiver answering 503 with NUL bytes gets exactly five POSTs; its webhook is deactivated", async () => {
  const s = await stack(FAST);
  const { org, receiver, webhook } = await oneWebhook(
    s,
    () => new Response("down\u0000\u0000for now", { status: 503 }),
  );
  const [p] = await publish(s, org.apiKey);
  await closedRun(s, p!.id);
  assert.equal(receiver.received.length, 5);
  const final = await payload(s, org.apiKey, p!.id);
  assert.equal(final.status, "failed");
  assert.deepEqual(final.attemptLog.map((a: any) => a.responseStatus), [503, 503, 503, 503, 503]);
  assert.ok(final.attemptLog.every((a: any) => a.responseBody === "down\uFFFD\uFFFDfor now"));
  await waitFor("deactivation", async () => {
    const w = (await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey })).body;
    return w.status === "deactivated" && w.deactivationReason === "unreachable";
  });
  await receiver.close();
});

test("invalid UTF-8, a huge body and an endless body are recorded as text, never an error", async () => {
  const s = await stack({ ...FAST, DELIVERY_TIMEOUT: "2s" });
  const org = await createOrganization(s);
  // Herald stops reading after 1 KiB; the stream then refuses more, which ends this one.
  const endless = () =>
    new ReadableStream<Uint8Array>({
      pull: (c) =>
        new Promise((r) =>
          setTimeout(() => {
            try {
              c.enqueue(new Uint8Array(512));
            } catch {
              // Cancelled by the reader.
            }
            r();
          }, 5)
        ),
    });
  const answers = [
    () => new Response(new Uint8Array([0x6f, 0x6b, 0xff, 0xfe, 0xc3]), { status: 200 }),
    () => new Response("x".repeat(5_000_000), { status: 200 }),
    () => new Response(endless(), { status: 200 }),
  ];
  const receivers: Receiver[] = [];
  for (const answer of answers) {
    const receiver = await startReceiver(answer);
    receivers.push(receiver);
    await createWebhook(s, org.apiKey, { url: receiver.url });
  }
  const payloads = await publish(s, org.apiKey);
  for (const p of payloads) await closedRun(s, p.id);
  const finals = await Promise.all(payloads.map((p) => payload(s, org.apiKey, p.id)));
  for (const final of finals) {
    assert.equal(final.status, "delivered", JSON.stringify(final.attemptLog));
    assert.equal(final.attemptLog.length, 1);
    const body: string = final.attemptLog[0].responseBody;
    assert.ok(new TextEncoder().encode(body).length <= 1024 * 3, `body of ${body.length}`);
  }
  const bodies = finals.map((f) => f.attemptLog[0].responseBody as string).sort();
  assert.ok(bodies.includes("ok\uFFFD\uFFFD\uFFFD"), JSON.stringify(bodies));
  assert.ok(bodies.includes("x".repeat(1024)));
  for (const receiver of receivers) assert.equal(receiver.received.length, 1);
  await Promise.all(receivers.map((r) => r.close()));
});

test("a failed delivery ends Failed in Temporal and is found by WebhookId and DeliveryOutcome", async () => {
  const s = await stack({ ...FAST, DELIVERY_MAX_ATTEMPTS: "2" });
  const { org, receiver, webhook } = await oneWebhook(s, () => new Response("no", { status: 500 }));
  const [failed] = await publish(s, org.apiKey);
  const description = await closedRun(s, failed!.id);
  assert.equal(description.status.name, "FAILED");
  // The compensation ran before the workflow failed: the payload is failed already.
  assert.equal((await payload(s, org.apiKey, failed!.id)).status, "failed");

  const query = `WebhookId = "${webhook.id}" AND DeliveryOutcome = "failed"`;
  const found = await waitFor("the visibility record", async () => {
    const ids: string[] = [];
    for await (const w of s.herald.temporal.workflow.list({ query })) ids.push(w.workflowId);
    return ids.length > 0 && ids;
  });
  assert.deepEqual(found, [deliveryWorkflowId(failed!.id)]);

  // A delivered payload of another webhook completes and writes no outcome: the Web UI lists
  // delivered runs as the completed ones without it.
  const ok = await oneWebhook(s, () => new Response("ok"));
  const [delivered] = await publish(s, ok.org.apiKey);
  assert.equal((await closedRun(s, delivered!.id)).status.name, "COMPLETED");
  const deliveredQuery =
    `WebhookId = "${ok.webhook.id}" AND ExecutionStatus = "Completed" AND DeliveryOutcome IS NULL`;
  const listed = await waitFor("the delivered run in the visibility store", async () => {
    const ids: string[] = [];
    for await (const w of s.herald.temporal.workflow.list({ query: deliveredQuery })) {
      ids.push(w.workflowId);
    }
    return ids.length > 0 && ids;
  });
  assert.deepEqual(listed, [deliveryWorkflowId(delivered!.id)]);
  await Promise.all([receiver.close(), ok.receiver.close()]);
});

test("a payload is delivering while its workflow runs; Terminate ends it cancelled, and it stays so", async () => {
  const s = await stack({ ...RECONCILING, DELIVERY_RETRY_INTERVAL: "3s" });
  const { org, receiver } = await oneWebhook(s, () => new Response("no", { status: 500 }));
  const [p] = await publish(s, org.apiKey);
  await waitFor("the first attempt", () => receiver.received.length === 1);
  const waiting = await waitFor("the first attempt's record", async () => {
    const current = await payload(s, org.apiKey, p!.id);
    return current.attemptLog.length === 1 && current;
  });
  assert.equal(waiting.status, "delivering");

  await s.herald.temporal.workflow.getHandle(deliveryWorkflowId(p!.id)).terminate("by a test");
  const cancelled = await waitFor("the reconciler to settle it", async () => {
    const current = await payload(s, org.apiKey, p!.id);
    return current.status === "cancelled" && current;
  }, 30_000);
  assert.equal(cancelled.cancelReason, "terminated_by_operator");

  // Two more reconciler runs later it is still cancelled and nothing more was sent.
  const runs = async () => {
    let n = 0;
    const query = `WorkflowType = "${WorkflowType.reconcile}" AND TaskQueue = "${s.taskQueue}"`;
    for await (const _ of s.herald.temporal.workflow.list({ query })) n++;
    return n;
  };
  const before = await runs();
  await waitFor("two more reconciler runs", async () => (await runs()) >= before + 2, 30_000);
  assert.equal((await payload(s, org.apiKey, p!.id)).status, "cancelled");
  assert.equal(receiver.received.length, 1);
  await receiver.close();
});

test("a delivery cancelled from Temporal ends cancelled, and Canceled in Temporal", async () => {
  const s = await stack({ ...FAST, DELIVERY_RETRY_INTERVAL: "3s" });
  const { org, receiver } = await oneWebhook(s, () => new Response("no", { status: 500 }));
  const [p] = await publish(s, org.apiKey);
  await waitFor("the first attempt", () => receiver.received.length === 1);
  await s.herald.temporal.workflow.getHandle(deliveryWorkflowId(p!.id)).cancel();
  const description = await closedRun(s, p!.id);
  assert.equal(description.status.name, "CANCELLED");
  const final = await payload(s, org.apiKey, p!.id);
  assert.equal(final.status, "cancelled");
  assert.equal(final.cancelReason, "cancelled_by_operator");
  assert.equal(receiver.received.length, 1);
  await receiver.close();
});

test("a resend while the previous run's workflow is still open answers 409 delivery_running", async () => {
  // Long enough for two webhook changes and the resend to happen while the run waits, even on a
  // loaded machine.
  const s = await stack({ ...FAST, DELIVERY_RETRY_INTERVAL: "8s" });
  const { org, receiver, webhook } = await oneWebhook(
    s,
    (n) => new Response("", { status: n === 1 ? 500 : 200 }),
  );
  const [p] = await publish(s, org.apiKey);
  await waitFor("the first attempt", () => receiver.received.length === 1);
  // Deactivated while the run waits for attempt 2: the payload is cancelled at once.
  const path = `/v1/webhooks/${webhook.id}`;
  assert.equal((await api(s, "POST", `${path}/deactivate`, { token: org.apiKey })).status, 200);
  assert.equal((await payload(s, org.apiKey, p!.id)).cancelReason, "webhook_deactivated");
  assert.equal((await api(s, "POST", `${path}/activate`, { token: org.apiKey })).status, 200);

  const early = await api(s, "POST", `/v1/payloads/${p!.id}/resend`, { token: org.apiKey });
  assert.equal(early.status, 409);
  assert.equal(early.body.error.code, "delivery_running");

  // The old run ends at its next wake-up without sending; then the resend starts cleanly.
  assert.equal((await closedRun(s, p!.id)).status.name, "COMPLETED");
  assert.equal(receiver.received.length, 1);
  const resent = await api(s, "POST", `/v1/payloads/${p!.id}/resend`, { token: org.apiKey });
  assert.equal(resent.status, 202);
  await waitFor(
    "the second run delivered",
    async () => (await payload(s, org.apiKey, p!.id)).status === "delivered",
  );
  assert.equal(receiver.received.length, 2);
  await receiver.close();
});

test("an attempt is recorded once per payload, run and number", async () => {
  const s = await stack(FAST);
  const { org, receiver } = await oneWebhook(s, () => new Response("ok"));
  const [p] = await publish(s, org.apiKey);
  await closedRun(s, p!.id);
  const db = s.infra.database.db;
  const duplicate = db.insertInto("attempts").values({
    id: `att_duplicate_${crypto.randomUUID()}`,
    payload_id: p!.id,
    run: 1,
    number: 1,
    started_at: Date.now(),
    duration_ms: 0,
    response_status: 200,
    error: null,
    response_body: null,
    finished_at: Date.now(),
  }).execute();
  await assert.rejects(duplicate, /unique|duplicate/i);
  await receiver.close();
});

test("the reconciler pages through pending payloads with a cursor, so blocked ones never starve others", async () => {
  const s = await stack({ RECONCILE_INTERVAL: "1h" });
  const { org, receiver, webhook } = await oneWebhook(s, () => new Response("ok"));
  const db = s.infra.database.db;
  const old = Date.now() - 60_000;
  const eventId = `evt_reconcile_${crypto.randomUUID().slice(0, 8)}`;
  await db.insertInto("events").values({
    id: eventId,
    organization_id: org.id,
    type: "thing.happened",
    object: "thing",
    object_id: null,
    object_created_at: old,
    data: jsonb({}),
    created_at: old,
  }).execute();
  const ids = ["a", "b", "c", "d"].map((k) =>
    `pl_reconcile_${k}_${crypto.randomUUID().slice(0, 8)}`
  );
  await db.insertInto("payloads").values(ids.map((id, i) => ({
    id,
    event_id: eventId,
    webhook_id: webhook.id,
    organization_id: org.id,
    status: "pending" as const,
    run: 1,
    attempt_count: 0,
    created_at: old + i,
    // Dated ahead, so that only this test's sweeps (whose grace reaches ahead) see them: the other
    // stacks of this file share the database, and their reconcilers would start them too.
    updated_at: Date.now() + 3_600_000,
  }))).execute();
  // The two oldest cannot start: a workflow with their id is open on a queue nobody polls.
  const blockers = await Promise.all(
    ids.slice(0, 2).map((id) =>
      s.herald.temporal.workflow.start(WorkflowType.deliverPayload, {
        workflowId: deliveryWorkflowId(id),
        taskQueue: `nobody-polls-${crypto.randomUUID().slice(0, 6)}`,
        args: [],
      })
    ),
  );
  const deps = {
    db,
    temporal: s.herald.temporal,
    taskQueue: s.taskQueue,
    delivery: { maxAttempts: 5, retryIntervalMs: 300, timeoutMs: 5_000 },
  };
  const onePage = { page: 2, budgetMs: 0 };
  const aheadGrace = -7_200_000;
  assert.equal(await startPendingDeliveries(deps, aheadGrace, undefined, onePage), 2);
  assert.equal(await startPendingDeliveries(deps, aheadGrace, undefined, onePage), 2);
  await waitFor("the two free payloads delivered", () => receiver.received.length === 2);
  assert.deepEqual(receiver.received.map((r) => r.body._id).sort(), ids.slice(2).sort());
  // The sweep reached the end: the next run starts from the oldest again.
  assert.equal(await startPendingDeliveries(deps, aheadGrace, undefined, onePage), 0);
  assert.equal(await startPendingDeliveries(deps, aheadGrace, undefined, onePage), 2);
  await Promise.all(blockers.map((b) => b.terminate("end of test")));
  await receiver.close();
});

test("a termination that reaches the visibility store after the reconciler's cursor moved on is still settled", async () => {
  // The reconciler of this stack runs rarely: the test calls its sweep itself.
  const s = await stack({ DELIVERY_RETRY_INTERVAL: "30s", RECONCILE_INTERVAL: "1h" });
  const { org, receiver } = await oneWebhook(s, () => new Response("no", { status: 500 }));
  const [p] = await publish(s, org.apiKey);
  await waitFor("the first attempt", () => receiver.received.length === 1);
  const handle = s.herald.temporal.workflow.getHandle(deliveryWorkflowId(p!.id));
  await handle.terminate("by a test");
  const closed = await waitFor("the termination in the visibility store", async () => {
    const query = `WorkflowId = "${deliveryWorkflowId(p!.id)}" AND ExecutionStatus = "Terminated"`;
    for await (const execution of s.herald.temporal.workflow.list({ query })) {
      return execution.closeTime;
    }
  });
  // As if a sweep had run after the termination but before its record became visible.
  const db = s.infra.database.db;
  const position = new Date(closed.getTime() + 60_000).toISOString();
  await db.insertInto("reconciler_cursors")
    .values({ name: `${s.taskQueue}:closed`, position, updated_at: Date.now() })
    .onConflict((oc) => oc.column("name").doUpdateSet({ position })).execute();
  const deps = {
    db,
    temporal: s.herald.temporal,
    taskQueue: s.taskQueue,
    delivery: { maxAttempts: 5, retryIntervalMs: 30_000, timeoutMs: 5_000 },
  };
  assert.equal(await settleClosedDeliveries(deps), 1);
  const settled = await payload(s, org.apiKey, p!.id);
  assert.equal(settled.status, "cancelled");
  assert.equal(settled.cancelReason, "terminated_by_operator");
  await receiver.close();
});

test("a webhook change recorded but never signalled is applied by the reconciler", async () => {
  const s = await stack(RECONCILING);
  const { org, receiver, webhook } = await oneWebhook(s, () => new Response("ok"));
  // As if the API had crashed between recording the request and signalling it.
  await s.infra.database.db.insertInto("webhook_requests").values({
    id: `req_lost_${crypto.randomUUID().slice(0, 8)}`,
    webhook_id: webhook.id,
    kind: "deactivate",
    reason: "manual",
    created_at: Date.now() - 10_000,
  }).execute();
  const deactivated = await waitFor("the reconciler to apply it", async () => {
    const w = (await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey })).body;
    return w.status === "deactivated" && w;
  }, 30_000);
  assert.equal(deactivated.deactivationReason, "manual");
  await receiver.close();
});

test("a downgrade is idempotent, and one whose signals were lost is completed by the reconciler", async () => {
  const s = await stack(RECONCILING);
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  const hooks = [
    await createWebhook(s, org.apiKey, { url: receiver.url }),
    await createWebhook(s, org.apiKey, { url: receiver.url }),
  ];
  // A plan changed with no deactivation requests at all (as a crash half-way could leave it).
  await s.infra.database.db.updateTable("organizations").set({ plan: "pro" })
    .where("id", "=", org.id).execute();
  const statuses = async () =>
    await Promise.all(
      hooks.map(async (h) =>
        (await api(s, "GET", `/v1/webhooks/${h.id}`, { token: org.apiKey })).body
      ),
    );
  await waitFor(
    "every webhook deactivated",
    async () =>
      (await statuses()).every((w) =>
        w.status === "deactivated" && w.deactivationReason === "plan_downgraded"
      ),
    30_000,
  );

  // Repeating the downgrade changes nothing and fails nothing.
  for (const plan of ["free", "free"]) {
    const answer = await api(s, "PATCH", `/v1/organizations/${org.id}`, {
      token: "hadm_test_admin_token_0123456789",
      body: { plan },
    });
    assert.equal(answer.status, 200);
  }
  assert.ok((await statuses()).every((w) => w.deactivationReason === "plan_downgraded"));
  await receiver.close();
});

test("deleting a webhook goes through its lifecycle workflow and cancels its waiting payloads", async () => {
  const s = await stack({ ...FAST, DELIVERY_RETRY_INTERVAL: "3s" });
  const { org, receiver, webhook } = await oneWebhook(s, () => new Response("no", { status: 500 }));
  const [p] = await publish(s, org.apiKey);
  await waitFor("the first attempt", () => receiver.received.length === 1);
  const deleted = await api(s, "DELETE", `/v1/webhooks/${webhook.id}`, { token: org.apiKey });
  assert.equal(deleted.status, 204);
  assert.equal(
    (await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey })).status,
    404,
  );
  const final = await payload(s, org.apiKey, p!.id);
  assert.equal(final.status, "cancelled");
  assert.equal(final.cancelReason, "webhook_deleted");
  const lifecycle = s.herald.temporal.workflow.getHandle(lifecycleWorkflowId(webhook.id));
  await waitFor(
    "the lifecycle to end",
    async () => (await lifecycle.describe()).status.name === "COMPLETED",
  );
  await closedRun(s, p!.id);
  assert.equal(receiver.received.length, 1);
  await receiver.close();
});

stopStackAfterTests();
