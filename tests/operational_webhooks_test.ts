// deno-lint-ignore-file no-explicit-any
/**
 * Operational webhooks: the platform (admin token) is told when a customer's webhook is
 * deactivated or reactivated and when a payload fails, by signed payloads delivered like any other;
 * an operational webhook's own failure tells nothing.
 */
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import {
  ADMIN_TOKEN,
  api,
  createOrganization,
  createWebhook,
  snapshot,
  type Stack,
  stack,
  stopStackAfterTests,
  test,
  waitFor,
} from "./harness.ts";
import { type Receiver, startReceiver } from "./receiver.ts";
import { emitPayloadFailed } from "../src/usecases/operational_events.ts";
import type { UseCaseDeps } from "../src/usecases/deps.ts";
import { applyWebhookRequest, recordWebhookRequests } from "../src/usecases/webhook_changes.ts";
import { PLATFORM_ORGANIZATION_ID } from "../src/domain/operational_events.ts";

/**
 * Five attempts 200 ms apart, so a failing receiver fails fast; the reconciler every second, so an
 * operational event recorded by a worker that does not start it at once is started soon.
 */
const ENV = {
  DELIVERY_MAX_ATTEMPTS: "5",
  DELIVERY_RETRY_INTERVAL: "200ms",
  RECONCILE_INTERVAL: "1s",
  RECONCILE_GRACE: "1s",
};

const failing = () => new Response("down", { status: 500 });

/** An operational webhook on a receiver of its own. */
async function operationalWebhook(s: Stack, behaviour?: () => Response, eventTypes?: string[]) {
  const receiver = await startReceiver(behaviour);
  const answer = await api(s, "POST", "/v1/operational-webhooks", {
    token: ADMIN_TOKEN,
    body: { url: receiver.url, name: "Platform alerts", ...(eventTypes && { eventTypes }) },
  });
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
  return { receiver, webhook: answer.body };
}

/** What an operational receiver got about one organization, verified with the webhook's secret. */
function told(receiver: Receiver, secret: string, organizationId: string, event?: string) {
  const verifier = new Webhook(secret);
  return receiver.received
    .filter((r) => (r.body.items as any)?.data?.organizationId === organizationId)
    .filter((r) => !event || r.body.event === event)
    .map((r) => {
      verifier.verify(r.rawBody, r.headers);
      return r.body as any;
    });
}

/** Distinct payloads (a retried one arrives more than once with one `_id`). */
const distinct = (bodies: any[]) => [...new Map(bodies.map((b) => [b._id, b])).values()];

async function removeOperational(s: Stack, id: string) {
  const answer = await api(s, "DELETE", `/v1/operational-webhooks/${id}`, { token: ADMIN_TOKEN });
  assert.equal(answer.status, 204);
}

function useCaseDeps(s: Stack): UseCaseDeps {
  return {
    db: s.infra.database.db,
    temporal: s.herald.temporal,
    taskQueue: s.taskQueue,
    delivery: s.herald.config.delivery,
  };
}

async function status(s: Stack, apiKey: string, webhookId: string) {
  return (await api(s, "GET", `/v1/webhooks/${webhookId}`, { token: apiKey })).body;
}

test("a webhook failing five times makes exactly one webhook.deactivated, signed with the operational webhook's secret; payload.failed once per failed run", async () => {
  const s = await stack(ENV);
  const ops = await operationalWebhook(s);
  const org = await createOrganization(s);
  const down = await startReceiver(failing);
  const webhook = await createWebhook(s, org.apiKey, { url: `${down.url}?token=secret` });
  const events: string[] = [];
  for (const n of [1, 2]) {
    const answer = await api(s, "POST", "/v1/events", {
      token: org.apiKey,
      body: { event: "order.paid", object: "order", data: { n } },
    });
    events.push(answer.body.payloads[0].id as string);
  }
  await waitFor(
    "the deactivation",
    async () => (await status(s, org.apiKey, webhook.id)).status === "deactivated",
    60_000,
  );
  await waitFor(
    "webhook.deactivated",
    () => told(ops.receiver, ops.webhook.signingSecret, org.id, "webhook.deactivated").length > 0,
  );
  // Both payloads asked for the deactivation: wait until both requests were applied.
  const db = s.infra.database.db;
  await waitFor("both payloads final and every request applied", async () => {
    const open = await db.selectFrom("payloads").select("id").where("id", "in", events)
      .where("status", "in", ["pending", "delivering"]).execute();
    const unapplied = await db.selectFrom("webhook_requests").select("id")
      .where("webhook_id", "=", webhook.id).where("applied_at", "is", null).execute();
    return open.length === 0 && unapplied.length === 0;
  }, 60_000);

  const deactivated = distinct(
    told(ops.receiver, ops.webhook.signingSecret, org.id, "webhook.deactivated"),
  );
  assert.equal(deactivated.length, 1);
  const [body] = deactivated;
  assert.equal(body.items.object, "webhook");
  assert.equal(body.items._id, webhook.id);
  assert.equal(body.items.createdAt, webhook.createdAt);
  const data = body.items.data;
  assert.equal(data.webhookId, webhook.id);
  assert.equal(data.organizationId, org.id);
  assert.equal(data.reason, "unreachable");
  assert.ok(events.includes(data.payloadId), `${data.payloadId} is one of the failed payloads`);
  assert.equal(
    (await api(s, "GET", `/v1/payloads/${data.payloadId}`, { token: org.apiKey }))
      .body.status,
    "failed",
  );
  assert.equal(typeof data.deactivatedAt, "number");
  // URLs redacted as everywhere else: scheme, host and port only.
  assert.equal(data.url, new URL(down.url).origin);
  assert.doesNotMatch(JSON.stringify(body), /token=secret|\/hooks/);

  // payload.failed: once per failed run, however often the end of the run reports it.
  const failedId = data.payloadId as string;
  await emitPayloadFailed(useCaseDeps(s), failedId);
  await emitPayloadFailed(useCaseDeps(s), failedId);
  await waitFor(
    "payload.failed",
    () => told(ops.receiver, ops.webhook.signingSecret, org.id, "payload.failed").length > 0,
  );
  const otherId = events.find((id) => id !== failedId)!;
  await emitPayloadFailed(useCaseDeps(s), otherId);
  const recorded = await db.selectFrom("events").select(["data"])
    .where("organization_id", "=", PLATFORM_ORGANIZATION_ID).where("type", "=", "payload.failed")
    .execute();
  const aboutThese = recorded.filter((e) => events.includes((e.data as any).payloadId));
  const otherStatus = (await api(s, "GET", `/v1/payloads/${otherId}`, { token: org.apiKey }))
    .body.status;
  assert.equal(aboutThese.length, otherStatus === "failed" ? 2 : 1, `the other is ${otherStatus}`);
  const failedBody = distinct(
    told(ops.receiver, ops.webhook.signingSecret, org.id, "payload.failed"),
  ).find((b) => b.items._id === failedId);
  assert.equal(failedBody.items.object, "payload");
  assert.equal(failedBody.items.data.webhookId, webhook.id);
  assert.equal(failedBody.items.data.event, "order.paid");
  assert.equal(failedBody.items.data.attempts, 5);
  assert.deepEqual(
    [failedBody.items.data.lastAttempt.number, failedBody.items.data.lastAttempt.status],
    [5, 500],
  );
  assert.equal(failedBody.items.data.url, new URL(down.url).origin);

  await removeOperational(s, ops.webhook.id);
  await Promise.all([ops.receiver.close(), down.close()]);
});

test("a downgrade makes one webhook.deactivated per webhook with plan_downgraded; a reactivation makes webhook.reactivated; a manual deactivation says manual", async () => {
  const s = await stack(ENV);
  const ops = await operationalWebhook(s);
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  const first = await createWebhook(s, org.apiKey, { url: receiver.url });
  const second = await createWebhook(s, org.apiKey, { url: receiver.url });
  const secret = ops.webhook.signingSecret;

  const downgrade = await api(s, "PATCH", `/v1/organizations/${org.id}`, {
    token: ADMIN_TOKEN,
    body: { plan: "pro" },
  });
  assert.equal(downgrade.status, 200);
  await waitFor(
    "one webhook.deactivated per webhook",
    () => distinct(told(ops.receiver, secret, org.id, "webhook.deactivated")).length === 2,
  );
  const downgraded = distinct(told(ops.receiver, secret, org.id, "webhook.deactivated"));
  assert.deepEqual(
    downgraded.map((b) => b.items.data.webhookId).sort(),
    [first.id, second.id].sort(),
  );
  for (const b of downgraded) {
    assert.equal(b.items.data.reason, "plan_downgraded");
    assert.equal(b.items.data.payloadId, null);
  }

  // The same downgrade again changes nothing, and tells nothing.
  await api(s, "PATCH", `/v1/organizations/${org.id}`, {
    token: ADMIN_TOKEN,
    body: { plan: "pro" },
  });
  await api(s, "PATCH", `/v1/organizations/${org.id}`, {
    token: ADMIN_TOKEN,
    body: { plan: "business" },
  });
  const activated = await api(s, "POST", `/v1/webhooks/${first.id}/activate`, {
    token: org.apiKey,
  });
  assert.equal(activated.status, 200);
  await waitFor(
    "webhook.reactivated",
    () => told(ops.receiver, secret, org.id, "webhook.reactivated").length > 0,
  );
  const [reactivated, ...more] = distinct(
    told(ops.receiver, secret, org.id, "webhook.reactivated"),
  );
  assert.equal(more.length, 0);
  assert.equal(reactivated.items.data.webhookId, first.id);
  assert.equal(typeof reactivated.items.data.reactivatedAt, "number");
  // Activating an active webhook is no change: nothing more is told.
  await api(s, "POST", `/v1/webhooks/${first.id}/activate`, { token: org.apiKey });

  await api(s, "POST", `/v1/webhooks/${first.id}/deactivate`, { token: org.apiKey });
  await waitFor(
    "the manual deactivation",
    () => distinct(told(ops.receiver, secret, org.id, "webhook.deactivated")).length === 3,
  );
  const manual = distinct(told(ops.receiver, secret, org.id, "webhook.deactivated"))
    .find((b) => b.items.data.reason === "manual");
  assert.equal(manual?.items.data.webhookId, first.id);
  // Recorded once each: the repeated downgrade and the second activation recorded nothing.
  const recorded = await s.infra.database.db.selectFrom("events").select(["type", "data"])
    .where("organization_id", "=", PLATFORM_ORGANIZATION_ID)
    .where("object_id", "in", [first.id, second.id]).execute();
  assert.deepEqual(
    recorded.map((e) => `${e.type} ${(e.data as any).reason ?? ""}`.trim()).sort(),
    [
      "webhook.deactivated manual",
      "webhook.deactivated plan_downgraded",
      "webhook.deactivated plan_downgraded",
      "webhook.reactivated",
    ],
  );

  await removeOperational(s, ops.webhook.id);
  await Promise.all([ops.receiver.close(), receiver.close()]);
});

test("an operational webhook subscribes to operational events only, and receives only those it subscribes to", async () => {
  const s = await stack(ENV);
  const before = await snapshot(s);
  for (const eventTypes of [["contact.created"], ["webhook.test"], [], ["payload.*", "order.*"]]) {
    const answer = await api(s, "POST", "/v1/operational-webhooks", {
      token: ADMIN_TOKEN,
      body: { url: "https://127.0.0.1:9/in", eventTypes },
    });
    assert.equal(answer.status, 422, JSON.stringify(eventTypes));
    assert.match(answer.body.error.details[0].path, /^body\.eventTypes/);
  }
  assert.equal(await snapshot(s), before);

  const ops = await operationalWebhook(s, undefined, ["webhook.reactivated", "payload.*"]);
  assert.deepEqual(ops.webhook.eventTypes, ["webhook.reactivated", "payload.*"]);
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url });
  await api(s, "POST", `/v1/webhooks/${webhook.id}/deactivate`, { token: org.apiKey });
  await api(s, "POST", `/v1/webhooks/${webhook.id}/activate`, { token: org.apiKey });
  await waitFor(
    "webhook.reactivated",
    () => told(ops.receiver, ops.webhook.signingSecret, org.id).length > 0,
  );
  assert.deepEqual(
    distinct(told(ops.receiver, ops.webhook.signingSecret, org.id)).map((b) => b.event),
    ["webhook.reactivated"],
  );
  await removeOperational(s, ops.webhook.id);
  await Promise.all([ops.receiver.close(), receiver.close()]);
});

test("an operational webhook that fails is deactivated like any other, and nothing is told about it", async () => {
  const s = await stack(ENV);
  const broken = await operationalWebhook(s, failing);
  const watcher = await operationalWebhook(s);
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url });

  // A customer's manual deactivation is told to both; the broken one fails its five attempts.
  await api(s, "POST", `/v1/webhooks/${webhook.id}/deactivate`, { token: org.apiKey });
  await waitFor(
    "the broken operational webhook's deactivation",
    async () =>
      (await api(s, "GET", `/v1/operational-webhooks/${broken.webhook.id}`, { token: ADMIN_TOKEN }))
        .body.status === "deactivated",
    60_000,
  );
  assert.equal(broken.receiver.received.length, 5);
  const db = s.infra.database.db;
  const failed = await db.selectFrom("payloads").select("id")
    .where("webhook_id", "=", broken.webhook.id).where("status", "=", "failed").execute();
  assert.equal(failed.length, 1);
  await emitPayloadFailed(useCaseDeps(s), failed[0]!.id);
  // While it is off, the customer's webhook comes back: told to the watcher only.
  const since = Date.now();
  await api(s, "POST", `/v1/webhooks/${webhook.id}/activate`, { token: org.apiKey });
  await waitFor(
    "the watcher's webhook.reactivated",
    () =>
      told(watcher.receiver, watcher.webhook.signingSecret, org.id, "webhook.reactivated")
        .length > 0,
  );
  const reactivated = await api(
    s,
    "POST",
    `/v1/operational-webhooks/${broken.webhook.id}/activate`,
    {
      token: ADMIN_TOKEN,
    },
  );
  assert.equal(reactivated.status, 200);
  assert.equal(reactivated.body.status, "active");
  // Back on its feet, it replays what it missed: the customer's reactivation, once.
  broken.receiver.answer(() => new Response("ok"));
  const replay = (body: unknown) =>
    api(s, "POST", `/v1/operational-webhooks/${broken.webhook.id}/replay`, {
      token: ADMIN_TOKEN,
      body,
    });
  assert.deepEqual((await replay({ since })).body, { count: 1 });
  await waitFor(
    "the replayed webhook.reactivated",
    () => broken.receiver.received.some((r) => r.body.event === "webhook.reactivated"),
  );
  assert.deepEqual((await replay({ since })).body, { count: 0 });
  assert.equal((await replay({ since: 0 })).status, 422, "beyond RETENTION");

  // Whatever happened to the platform's own webhook was never recorded as an event.
  await waitFor(
    "the watcher's copy of the customer's deactivation",
    () => told(watcher.receiver, watcher.webhook.signingSecret, org.id).length > 0,
  );
  const aboutPlatform = await db.selectFrom("events").select("id")
    .where("organization_id", "=", PLATFORM_ORGANIZATION_ID)
    .where((eb) =>
      eb.or([
        eb("object_id", "=", broken.webhook.id),
        eb("object_id", "in", failed.map((p) => p.id)),
      ])
    )
    .execute();
  assert.deepEqual(aboutPlatform, []);
  assert.equal(
    watcher.receiver.received.filter((r) =>
      (r.body.items as any).data.organizationId === PLATFORM_ORGANIZATION_ID
    ).length,
    0,
  );
  for (const ops of [broken, watcher]) await removeOperational(s, ops.webhook.id);
  await Promise.all([broken.receiver.close(), watcher.receiver.close(), receiver.close()]);
});

test("operational webhooks: create, list, read, change, rotate the secret, send a test, delete", async () => {
  const s = await stack(ENV);
  const ops = await operationalWebhook(s);
  assert.match(ops.webhook.signingSecret, /^whsec_/);
  assert.deepEqual(ops.webhook.eventTypes, ["*"]);
  const id = ops.webhook.id;
  const list = await api(s, "GET", "/v1/operational-webhooks", { token: ADMIN_TOKEN });
  assert.deepEqual(list.body.data.map((w: any) => w.id), [id]);
  assert.equal(
    (await api(s, "GET", `/v1/operational-webhooks/${id}`, { token: ADMIN_TOKEN }))
      .body.name,
    "Platform alerts",
  );
  const changed = await api(s, "PATCH", `/v1/operational-webhooks/${id}`, {
    token: ADMIN_TOKEN,
    body: { name: "Pager", eventTypes: ["webhook.*"] },
  });
  assert.deepEqual([changed.status, changed.body.name, changed.body.eventTypes], [
    200,
    "Pager",
    ["webhook.*"],
  ]);
  const rotated = await api(s, "POST", `/v1/operational-webhooks/${id}/rotate-secret`, {
    token: ADMIN_TOKEN,
  });
  assert.equal(rotated.status, 200);
  const sent = await api(s, "POST", `/v1/operational-webhooks/${id}/test`, { token: ADMIN_TOKEN });
  assert.equal(sent.status, 202);
  await waitFor("the test send", () => ops.receiver.received.length === 1);
  const [got] = ops.receiver.received;
  assert.equal(got!.body.event, "webhook.test");
  new Webhook(rotated.body.signingSecret).verify(got!.rawBody, got!.headers);

  // Not an organization's webhook: no API key reaches it, not even through /v1/webhooks.
  const org = await createOrganization(s);
  assert.equal((await api(s, "GET", `/v1/webhooks/${id}`, { token: org.apiKey })).status, 404);
  await removeOperational(s, id);
  assert.equal(
    (await api(s, "GET", `/v1/operational-webhooks/${id}`, { token: ADMIN_TOKEN })).status,
    404,
  );
  await ops.receiver.close();
});

test("applied with the use cases' parts, a lifecycle change's operational event starts at once, not at the reconciler's next sweep", async () => {
  // The reconciler's defaults (every 30 s, 30 s of grace): an event left to it would take that long.
  const s = await stack({ DELIVERY_RETRY_INTERVAL: "200ms" });
  const ops = await operationalWebhook(s);
  const org = await createOrganization(s);
  const webhook = await createWebhook(s, org.apiKey, { url: "https://127.0.0.1:9/in" });
  const db = s.infra.database.db;
  const [request] = await recordWebhookRequests(db, [webhook.id], {
    kind: "deactivate",
    reason: "manual",
  });
  const state = await applyWebhookRequest(db, webhook.id, request!, useCaseDeps(s));
  assert.deepEqual(state, { status: "deactivated", deactivationReason: "manual" });
  await waitFor(
    "webhook.deactivated",
    () => told(ops.receiver, ops.webhook.signingSecret, org.id, "webhook.deactivated").length > 0,
    10_000,
  );
  await removeOperational(s, ops.webhook.id);
  await ops.receiver.close();
});

test("an API key reaches neither operational webhooks nor the platform's organization", async () => {
  const s = await stack(ENV);
  const org = await createOrganization(s);
  const before = await snapshot(s);
  const calls: Array<[string, string, unknown?]> = [
    ["POST", "/v1/operational-webhooks", { url: "https://127.0.0.1:9/in" }],
    ["GET", "/v1/operational-webhooks"],
  ];
  for (const [method, path, body] of calls) {
    for (const token of [org.apiKey, undefined]) {
      const answer = await api(s, method, path, { token, body });
      assert.equal(answer.status, 401, `${method} ${path}`);
      assert.equal(answer.body.error.code, "unauthorized");
    }
  }
  const platform = `/v1/organizations/${PLATFORM_ORGANIZATION_ID}`;
  for (
    const [method, path, body] of [
      ["GET", platform],
      ["PATCH", platform, { plan: "free" }],
      ["POST", `${platform}/api-keys`],
    ] as Array<[string, string, unknown?]>
  ) {
    const answer = await api(s, method, path, { token: ADMIN_TOKEN, body });
    assert.equal(answer.status, 404, `${method} ${path}`);
  }
  assert.equal(await snapshot(s), before);
});

stopStackAfterTests();
