// deno-lint-ignore-file no-explicit-any
/**
 * What an owner sets on a webhook beyond its URL: the event types it receives, the custom headers
 * sent with every attempt, test sends; and the organization's event types with their counts.
 */
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import {
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
import { deliveryWorkflowId } from "../src/temporal/names.ts";

/** Short retries, so failing receivers fail fast. */
const FAST = { DELIVERY_MAX_ATTEMPTS: "3", DELIVERY_RETRY_INTERVAL: "200ms" };

async function publish(s: Stack, apiKey: string, event: string) {
  const answer = await api(s, "POST", "/v1/events", {
    token: apiKey,
    body: { event, object: "thing", data: { event } },
  });
  assert.equal(answer.status, 202, JSON.stringify(answer.body));
  return answer.body as { id: string; payloads: Array<{ id: string; webhookId: string }> };
}

async function payload(s: Stack, apiKey: string, id: string) {
  return (await api(s, "GET", `/v1/payloads/${id}`, { token: apiKey })).body;
}

async function eventsOf(s: Stack, apiKey: string, webhookId: string): Promise<string[]> {
  const answer = await api(s, "GET", `/v1/webhooks/${webhookId}/payloads?limit=100`, {
    token: apiKey,
  });
  return answer.body.data.map((p: { event: string }) => p.event).sort();
}

const received = (r: Receiver) => r.received.map((got) => got.body.event as string).sort();

test("a webhook receives only the event types it subscribes to; an unsubscribed one gets nothing and has no payload", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const [exact, wildcard, every] = await Promise.all([
    startReceiver(),
    startReceiver(),
    startReceiver(),
  ]);
  const wExact = await createWebhook(s, org.apiKey, {
    url: exact!.url,
    eventTypes: ["contact.created", "order.paid"],
  });
  const wWildcard = await createWebhook(s, org.apiKey, {
    url: wildcard!.url,
    eventTypes: ["invoice.*"],
  });
  const wEvery = await createWebhook(s, org.apiKey, { url: every!.url });
  assert.deepEqual(wExact.eventTypes, ["contact.created", "order.paid"]);
  assert.deepEqual(wEvery.eventTypes, ["*"]);

  const contact = await api(s, "POST", "/v1/contacts", {
    token: org.apiKey,
    body: { fields: { email: "ada@example.com" } },
  });
  assert.equal(contact.status, 201);
  const published = {
    paid: await publish(s, org.apiKey, "invoice.paid"),
    deep: await publish(s, org.apiKey, "invoice.line.added"),
    bare: await publish(s, org.apiKey, "invoice"),
    lookalike: await publish(s, org.apiKey, "invoicex.paid"),
  };
  const reached = (p: { payloads: Array<{ webhookId: string }> }) =>
    p.payloads.map((x) => x.webhookId).sort();
  assert.deepEqual(reached(published.paid), [wWildcard.id, wEvery.id].sort());
  assert.deepEqual(reached(published.deep), [wWildcard.id, wEvery.id].sort());
  assert.deepEqual(reached(published.bare), [wEvery.id]);
  assert.deepEqual(reached(published.lookalike), [wEvery.id]);

  await waitFor("every delivery", () => every!.received.length === 5);
  await waitFor("the wildcard's deliveries", () => wildcard!.received.length === 2);
  await waitFor("the exact one's delivery", () => exact!.received.length === 1);
  assert.deepEqual(received(exact!), ["contact.created"]);
  assert.deepEqual(received(wildcard!), ["invoice.line.added", "invoice.paid"]);
  // No payload was made for what a webhook does not subscribe to, so none can ever be sent.
  assert.deepEqual(await eventsOf(s, org.apiKey, wExact.id), ["contact.created"]);
  assert.deepEqual(await eventsOf(s, org.apiKey, wWildcard.id), [
    "invoice.line.added",
    "invoice.paid",
  ]);
  assert.equal((await eventsOf(s, org.apiKey, wEvery.id)).length, 5);

  // A PATCH replaces the list, and the next event follows it.
  const patched = await api(s, "PATCH", `/v1/webhooks/${wExact.id}`, {
    token: org.apiKey,
    body: { eventTypes: ["invoice.paid"] },
  });
  assert.equal(patched.status, 200);
  assert.deepEqual(patched.body.eventTypes, ["invoice.paid"]);
  const read = await api(s, "GET", `/v1/webhooks/${wExact.id}`, { token: org.apiKey });
  assert.deepEqual(read.body.eventTypes, ["invoice.paid"]);
  const again = await publish(s, org.apiKey, "invoice.paid");
  assert.ok(again.payloads.some((p) => p.webhookId === wExact.id));
  await waitFor("the patched webhook's delivery", () => exact!.received.length === 2);
  assert.equal(exact!.received[1]!.body.event, "invoice.paid");
  // Every payload of that event ends before its receiver closes: one still retrying would write to
  // the database during the next tests' before-and-after snapshots.
  await waitFor("every payload of the last event delivered", async () => {
    for (const p of again.payloads) {
      const read = await api(s, "GET", `/v1/payloads/${p.id}`, { token: org.apiKey });
      if (read.body.status !== "delivered") return false;
    }
    return true;
  });
  await Promise.all([exact!.close(), wildcard!.close(), every!.close()]);
});

test("custom headers arrive with every attempt, and answers show their names with masked values", async () => {
  const s = await stack(FAST);
  const org = await createOrganization(s);
  const receiver = await startReceiver((n) => new Response("", { status: n < 3 ? 503 : 200 }));
  const created = await createWebhook(s, org.apiKey, {
    url: receiver.url,
    headers: { Authorization: "Bearer receiver-token", "X-Tenant": "acme" },
  });
  const masked = { authorization: "[redacted]", "x-tenant": "[redacted]" };
  assert.deepEqual(created.headers, masked);
  const read = await api(s, "GET", `/v1/webhooks/${created.id}`, { token: org.apiKey });
  assert.deepEqual(read.body.headers, masked);
  const list = await api(s, "GET", "/v1/webhooks", { token: org.apiKey });
  assert.deepEqual(list.body.data[0].headers, masked);
  assert.ok(!JSON.stringify([created, read.body, list.body]).includes("receiver-token"));

  const event = await publish(s, org.apiKey, "order.paid");
  await waitFor("three attempts", () => receiver.received.length === 3);
  for (const got of receiver.received) {
    assert.equal(got.headers["authorization"], "Bearer receiver-token");
    assert.equal(got.headers["x-tenant"], "acme");
    // Herald's own headers are untouched.
    assert.equal(got.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(got.headers["webhook-id"], event.payloads[0]!.id);
  }
  await waitFor(
    "the delivery",
    async () => (await payload(s, org.apiKey, event.payloads[0]!.id)).status === "delivered",
  );

  // A PATCH replaces the whole map: the header left out is no longer sent.
  const patched = await api(s, "PATCH", `/v1/webhooks/${created.id}`, {
    token: org.apiKey,
    body: { headers: { "X-Tenant": "globex" } },
  });
  assert.equal(patched.status, 200);
  assert.deepEqual(patched.body.headers, { "x-tenant": "[redacted]" });
  await publish(s, org.apiKey, "order.paid");
  const next = await waitFor("the next delivery", () => receiver.received[3]);
  assert.equal(next.headers["x-tenant"], "globex");
  assert.equal(next.headers["authorization"], undefined);
  await receiver.close();
});

test("reserved or malformed custom headers and bad event types are refused with 422 naming the field, and nothing is written", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const webhook = await createWebhook(s, org.apiKey, { url: "https://127.0.0.1:9/hooks" });
  const url = "https://127.0.0.1:9/other";
  const cases: Array<[unknown, string, RegExp]> = [
    [{ headers: { "Content-Type": "text/plain" } }, "body.headers.Content-Type", /set by Herald/],
    [{ headers: { "webhook-signature": "v1,x" } }, "body.headers.webhook-signature", /Herald/],
    [{ headers: { "User-Agent": "me" } }, "body.headers.User-Agent", /set by Herald/],
    [{ headers: { Host: "evil.example" } }, "body.headers.Host", /reserved by HTTP/],
    [{ headers: { "Content-Length": "0" } }, "body.headers.Content-Length", /reserved/],
    [{ headers: { "Transfer-Encoding": "chunked" } }, "body.headers.Transfer-Encoding", /HTTP/],
    [{ headers: { "Proxy-Authorization": "x" } }, "body.headers.Proxy-Authorization", /HTTP/],
    [{ headers: { "X Bad": "x" } }, "body.headers.X Bad", /not an HTTP header name/],
    [{ headers: { "x-a": "1\r\nX-Injected: 1" } }, "body.headers.x-a", /no CR, LF/],
    [{ headers: { "x-a": "caf\u00e9" } }, "body.headers.x-a", /printable ASCII/],
    [{ headers: { "x-a": "a".repeat(1025) } }, "body.headers.x-a", /1024/],
    [{ headers: { "x-a": "[redacted]" } }, "body.headers.x-a", /send the value/],
    [{ headers: { "X-A": "1", "x-a": "2" } }, "body.headers.x-a", /another case/],
    [
      { headers: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`x-${i}`, "v"])) },
      "body.headers",
      /at most 20/,
    ],
    [{ headers: { "x-a": 1 } }, "body.headers.x-a", /string/],
    [{ eventTypes: [] }, "body.eventTypes", /at least one/],
    [{ eventTypes: ["contact.created", "contact.created"] }, "body.eventTypes.1", /twice/],
    [{ eventTypes: ["*", "contact.created"] }, "body.eventTypes.0", /alone/],
    [{ eventTypes: ["contact*"] }, "body.eventTypes.0", /wildcard over a prefix/],
    [{ eventTypes: ["*.created"] }, "body.eventTypes.0", /wildcard/],
    [{ eventTypes: ["Contact.Created"] }, "body.eventTypes.0", /event name/],
    [{ eventTypes: ["webhook.test"] }, "body.eventTypes.0", /only by POST/],
    [{ eventTypes: Array.from({ length: 51 }, (_, i) => `e${i}`) }, "body.eventTypes", /50/],
    [{ eventTypes: "contact.created" }, "body.eventTypes", /array/],
  ];
  for (const [fields, path, message] of cases) {
    for (
      const [method, route, body] of [
        ["POST", "/v1/webhooks", { url, ...fields as object }],
        ["PATCH", `/v1/webhooks/${webhook.id}`, fields],
      ] as const
    ) {
      const before = await snapshot(s);
      const answer = await api(s, method, route, { token: org.apiKey, body });
      const what = `${method} ${JSON.stringify(fields).slice(0, 80)}`;
      assert.equal(answer.status, 422, what);
      assert.equal(answer.body.error.code, "validation_failed", what);
      const detail = answer.body.error.details.find((d: { path: string }) => d.path === path);
      assert.ok(detail, `${what}: ${JSON.stringify(answer.body.error.details)}`);
      assert.match(detail.message, message, what);
      assert.equal(await snapshot(s), before, `${what} changed the database`);
    }
  }
});

test("a test send arrives signed, ignores the event types, and shows its attempts", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  const webhook = await createWebhook(s, org.apiKey, {
    url: receiver.url,
    verifyToken: "vt-test",
    eventTypes: ["invoice.paid"],
    headers: { "X-Tenant": "acme" },
  });

  const sent = await api(s, "POST", `/v1/webhooks/${webhook.id}/test`, { token: org.apiKey });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  assert.match(sent.body.id, /^pl_/);
  const [got] = await waitFor(
    "the test send",
    () => receiver.received.length === 1 && receiver.received,
  );
  const body = new Webhook(webhook.signingSecret).verify(got!.rawBody, {
    "webhook-id": got!.headers["webhook-id"]!,
    "webhook-timestamp": got!.headers["webhook-timestamp"]!,
    "webhook-signature": got!.headers["webhook-signature"]!,
  }) as Record<string, any>;
  assert.equal(body._id, sent.body.id);
  assert.equal(body.event, "webhook.test");
  assert.equal(body.deliveryAttempts, 1);
  assert.deepEqual(Object.keys(body.items), ["_id", "object", "createdAt", "data", "infoWebhook"]);
  assert.equal(body.items._id, webhook.id);
  assert.equal(body.items.object, "webhook");
  assert.equal(body.items.createdAt, webhook.createdAt);
  assert.equal(typeof body.items.data.message, "string");
  assert.deepEqual(body.items.infoWebhook, { verifyToken: "vt-test" });
  assert.equal(got!.headers["x-tenant"], "acme");

  const shown = await waitFor("the test payload delivered", async () => {
    const p = await payload(s, org.apiKey, sent.body.id);
    return p.status === "delivered" && p;
  });
  assert.equal(shown.event, "webhook.test");
  assert.equal(shown.webhookId, webhook.id);
  assert.equal(shown.attemptLog.length, 1);
  assert.equal(shown.attemptLog[0].responseStatus, 200);
  assert.equal(shown.body.items.infoWebhook.verifyToken, "[redacted]");
  assert.deepEqual(await eventsOf(s, org.apiKey, webhook.id), ["webhook.test"]);
  // Its workflow is a delivery like any other.
  const run = await s.herald.temporal.workflow.getHandle(deliveryWorkflowId(sent.body.id))
    .describe();
  assert.equal(run.type, "deliverPayload");
  await receiver.close();
});

test("a test send to a failing receiver ends failed, resent too, and its webhook stays active", async () => {
  const s = await stack(FAST);
  const org = await createOrganization(s);
  const receiver = await startReceiver(() => new Response("down", { status: 503 }));
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url });

  const sent = await api(s, "POST", `/v1/webhooks/${webhook.id}/test`, { token: org.apiKey });
  assert.equal(sent.status, 202);
  const handle = s.herald.temporal.workflow.getHandle(deliveryWorkflowId(sent.body.id));
  const closed = async () => {
    return await waitFor("the test delivery to close", async () => {
      const d = await handle.describe();
      return d.status.name !== "RUNNING" && d;
    });
  };
  assert.equal((await closed()).status.name, "FAILED");
  const failed = await payload(s, org.apiKey, sent.body.id);
  assert.equal(failed.status, "failed");
  assert.equal(failed.attemptLog.length, 3);
  assert.equal(receiver.received.length, 3);
  const after = await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey });
  assert.equal(after.body.status, "active");
  // No deactivation was even asked of the webhook's lifecycle.
  const requests = await s.infra.database.db.selectFrom("webhook_requests").selectAll()
    .where("webhook_id", "=", webhook.id).execute();
  assert.deepEqual(requests, []);

  // A resend of a test payload is a test too.
  const resent = await api(s, "POST", `/v1/payloads/${sent.body.id}/resend`, {
    token: org.apiKey,
  });
  assert.equal(resent.status, 202, JSON.stringify(resent.body));
  await waitFor("the resend's attempts", () => receiver.received.length === 6);
  await waitFor("the resend to end", async () => {
    const d = await handle.describe();
    return d.status.name === "FAILED" && d.memo?.run === 2;
  });
  assert.equal((await payload(s, org.apiKey, sent.body.id)).status, "failed");
  const still = await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey });
  assert.equal(still.body.status, "active");
  await receiver.close();
});

test("a test send to a deactivated webhook is refused with 409, and one of another organization with 404", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const other = await createOrganization(s);
  const webhook = await createWebhook(s, org.apiKey, { url: "https://127.0.0.1:9/hooks" });
  const off = await api(s, "POST", `/v1/webhooks/${webhook.id}/deactivate`, { token: org.apiKey });
  assert.equal(off.body.status, "deactivated");

  const before = await snapshot(s);
  const refused = await api(s, "POST", `/v1/webhooks/${webhook.id}/test`, { token: org.apiKey });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error.code, "webhook_inactive");
  const foreign = await api(s, "POST", `/v1/webhooks/${webhook.id}/test`, {
    token: other.apiKey,
  });
  assert.equal(foreign.status, 404);
  assert.equal(await snapshot(s), before);
});

test("GET /v1/event-types counts each type with when it was last seen, Herald's own from zero", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const fresh = await api(s, "GET", "/v1/event-types?limit=100", { token: org.apiKey });
  assert.equal(fresh.status, 200);
  assert.deepEqual(fresh.body, {
    data: [
      { name: "contact.created", count: 0, lastSeenAt: null },
      { name: "contact.deleted", count: 0, lastSeenAt: null },
      { name: "contact.updated", count: 0, lastSeenAt: null },
    ],
    nextCursor: null,
  });

  const receiver = await startReceiver();
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url });
  const first = await publish(s, org.apiKey, "invoice.paid");
  const second = await publish(s, org.apiKey, "invoice.paid");
  await publish(s, org.apiKey, "a.first");
  await api(s, "POST", "/v1/contacts", { token: org.apiKey, body: { fields: { x: 1 } } });
  // Test sends and other organizations' events are not counted.
  await api(s, "POST", `/v1/webhooks/${webhook.id}/test`, { token: org.apiKey });
  const other = await createOrganization(s);
  await publish(s, other.apiKey, "invoice.paid");

  const events = await s.infra.database.db.selectFrom("events").select(["id", "created_at"])
    .where("id", "in", [first.id, second.id]).execute();
  const lastPaid = Math.max(...events.map((e) => e.created_at));
  const listed = await api(s, "GET", "/v1/event-types", { token: org.apiKey });
  const byName = Object.fromEntries(listed.body.data.map((t: any) => [t.name, t]));
  assert.deepEqual(listed.body.data.map((t: any) => t.name), [
    "a.first",
    "contact.created",
    "contact.deleted",
    "contact.updated",
    "invoice.paid",
  ]);
  assert.deepEqual(byName["invoice.paid"], {
    name: "invoice.paid",
    count: 2,
    lastSeenAt: lastPaid,
  });
  assert.equal(byName["contact.created"].count, 1);
  assert.equal(typeof byName["contact.created"].lastSeenAt, "number");
  assert.deepEqual(byName["contact.updated"], {
    name: "contact.updated",
    count: 0,
    lastSeenAt: null,
  });

  // Pages by name, with the list's cursor.
  const names: string[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
    const page = await api(s, "GET", `/v1/event-types${query}`, { token: org.apiKey });
    assert.ok(page.body.data.length <= 2);
    names.push(...page.body.data.map((t: any) => t.name));
    cursor = page.body.nextCursor;
  } while (cursor);
  assert.deepEqual(names, listed.body.data.map((t: any) => t.name));
  const bad = await api(s, "GET", "/v1/event-types?cursor=zzz", { token: org.apiKey });
  assert.equal(bad.status, 422);
  assert.equal(bad.body.error.code, "invalid_cursor");
  await waitFor("the deliveries", () => receiver.received.length === 5);
  await receiver.close();
});

stopStackAfterTests();
