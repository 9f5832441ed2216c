// deno-lint-ignore-file no-explicit-any
/** Contact changes and published events reach real HTTPS receivers through real workflows. */
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import {
  api,
  createOrganization,
  createWebhook,
  stack,
  stopStackAfterTests,
  test,
  waitFor,
} from "./harness.ts";
import { startReceiver } from "./receiver.ts";

test("creating a contact delivers contact.created with all its fields", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url, verifyToken: "vt-123" });

  const fields = { email: "ada@example.com", name: "Ada", age: 36, vip: true };
  const created = await api(s, "POST", "/v1/contacts", { token: org.apiKey, body: { fields } });
  assert.equal(created.status, 201);

  const [got] = await waitFor(
    "the delivery",
    () => receiver.received.length >= 1 && receiver.received,
  );
  const body = got!.body as Record<string, any>;
  assert.deepEqual(Object.keys(body), [
    "_id",
    "event",
    "createdAt",
    "deliveryAttempts",
    "firstSentAt",
    "items",
  ]);
  assert.equal(body.event, "contact.created");
  assert.equal(body.deliveryAttempts, 1);
  assert.match(body._id, /^pl_/);
  assert.equal(typeof body.createdAt, "number");
  assert.ok(body.firstSentAt >= body.createdAt);
  assert.deepEqual(Object.keys(body.items), ["_id", "object", "createdAt", "data", "infoWebhook"]);
  assert.equal(body.items._id, created.body.id);
  assert.equal(body.items.object, "contact");
  assert.equal(body.items.createdAt, created.body.createdAt);
  assert.deepEqual(body.items.data, fields);
  assert.deepEqual(body.items.infoWebhook, { verifyToken: "vt-123" });

  assert.equal(got!.headers["content-type"], "application/json; charset=utf-8");
  assert.match(got!.headers["user-agent"]!, /^Herald-Webhooks\/\d+\.\d+\.\d+$/);
  assert.equal(got!.headers["webhook-id"], body._id);
  const verified = new Webhook(webhook.signingSecret).verify(got!.rawBody, {
    "webhook-id": got!.headers["webhook-id"]!,
    "webhook-timestamp": got!.headers["webhook-timestamp"]!,
    "webhook-signature": got!.headers["webhook-signature"]!,
  });
  assert.deepEqual(verified, body);

  const payload = await waitFor("the payload to be delivered", async () => {
    const answer = await api(s, "GET", `/v1/payloads/${body._id}`, { token: org.apiKey });
    return answer.body.status === "delivered" && answer.body;
  });
  assert.equal(payload.attemptLog.length, 1);
  assert.equal(payload.attemptLog[0].responseStatus, 200);
  assert.equal(payload.attemptLog[0].responseBody, "ok");
  // The body as sent, its verify token masked: the API never shows it back.
  assert.deepEqual(payload.body, {
    ...body,
    items: { ...body.items, infoWebhook: { verifyToken: "[redacted]" } },
  });
  await receiver.close();
});

test("updating one field delivers contact.updated with only that field", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  await createWebhook(s, org.apiKey, { url: receiver.url });
  const created = await api(s, "POST", "/v1/contacts", {
    token: org.apiKey,
    body: { fields: { email: "old@example.com", name: "Grace", city: "Paris" } },
  });
  await waitFor("contact.created", () => receiver.received.length >= 1);

  const updated = await api(s, "PATCH", `/v1/contacts/${created.body.id}`, {
    token: org.apiKey,
    body: { fields: { email: "new@example.com", name: "Grace", city: null } },
  });
  assert.equal(updated.status, 200);
  assert.deepEqual(updated.body.fields, { email: "new@example.com", name: "Grace" });

  const got = await waitFor("contact.updated", () => receiver.received[1]);
  assert.equal(got.body.event, "contact.updated");
  assert.deepEqual((got.body.items as Record<string, unknown>).data, {
    email: "new@example.com",
    city: null,
  });

  const unchanged = await api(s, "PATCH", `/v1/contacts/${created.body.id}`, {
    token: org.apiKey,
    body: { fields: { email: "new@example.com" } },
  });
  assert.equal(unchanged.status, 200);
  const deleted = await api(s, "DELETE", `/v1/contacts/${created.body.id}`, { token: org.apiKey });
  assert.equal(deleted.status, 204);
  const third = await waitFor("contact.deleted", () => receiver.received[2]);
  // No change, no event: the next delivery after the update is the deletion.
  assert.equal(third.body.event, "contact.deleted");
  assert.deepEqual((third.body.items as Record<string, unknown>).data, {
    email: "new@example.com",
    name: "Grace",
  });
  assert.equal(receiver.received.length, 3);
  await receiver.close();
});

test("a published event reaches every active webhook of its organization and none of another", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const other = await createOrganization(s);
  const [a, b, c] = await Promise.all([startReceiver(), startReceiver(), startReceiver()]);
  const wa = await createWebhook(s, org.apiKey, { url: a!.url });
  const wb = await createWebhook(s, org.apiKey, { url: b!.url });
  await createWebhook(s, other.apiKey, { url: c!.url });

  const published = await api(s, "POST", "/v1/events", {
    token: org.apiKey,
    body: { event: "invoice.paid", object: "invoice", objectId: "inv_42", data: { amount: 4200 } },
  });
  assert.equal(published.status, 202);
  assert.match(published.body.id, /^evt_/);
  assert.deepEqual(
    published.body.payloads.map((p: { webhookId: string }) => p.webhookId).sort(),
    [wa.id, wb.id].sort(),
  );
  await waitFor("both deliveries", () => a!.received.length === 1 && b!.received.length === 1);
  for (const r of [a!, b!]) {
    const body = r.received[0]!.body as Record<string, any>;
    assert.equal(body.event, "invoice.paid");
    assert.equal(body.items._id, "inv_42");
    assert.equal(body.items.object, "invoice");
    assert.deepEqual(body.items.data, { amount: 4200 });
    assert.deepEqual(body.items.infoWebhook, { verifyToken: null });
  }
  // The other organization's webhook got nothing: its payload list is empty too.
  const otherPublished = await api(s, "POST", "/v1/events", {
    token: other.apiKey,
    body: { event: "ping", object: "test", data: {} },
  });
  await waitFor("the other organization's own event", () => c!.received.length === 1);
  assert.equal(c!.received[0]!.body._id, otherPublished.body.payloads[0].id);
  await Promise.all([a!.close(), b!.close(), c!.close()]);
});

test("a publisher's answer does not wait for Temporal: 202 once committed, the workflow starts after", async () => {
  // Every start waits for this gate; the answer must not.
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const s = await stack({}, { beforeStart: () => gate });
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  await createWebhook(s, org.apiKey, { url: receiver.url });
  const answer = await api(s, "POST", "/v1/events", {
    token: org.apiKey,
    body: { event: "order.paid", object: "order", data: { amount: 1 } },
  });
  assert.equal(answer.status, 202);
  const id = answer.body.payloads[0].id;
  const before = await api(s, "GET", `/v1/payloads/${id}`, { token: org.apiKey });
  assert.equal(before.body.status, "pending", "committed, not started yet");
  assert.equal(receiver.received.length, 0);
  open();
  await waitFor("the delivery", () => receiver.received.length === 1);
  assert.equal(receiver.received[0]!.body._id, id);
  await receiver.close();
});

stopStackAfterTests();
