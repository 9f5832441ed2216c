// deno-lint-ignore-file no-explicit-any
/**
 * Replay: what a webhook missed while it was deactivated is sent when its owner asks, oldest first,
 * once; nothing it was never meant to get. And the dashboard's Reactivate button offers it.
 */
import assert from "node:assert/strict";
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
import { startReceiver } from "./receiver.ts";

async function publish(s: Stack, apiKey: string, event: string, data: Record<string, unknown>) {
  const answer = await api(s, "POST", "/v1/events", {
    token: apiKey,
    body: { event, object: "order", objectId: "ord_1", data },
  });
  assert.equal(answer.status, 202, JSON.stringify(answer.body));
  return answer.body as { id: string; payloads: Array<{ id: string; webhookId: string }> };
}

async function setActive(s: Stack, apiKey: string, webhookId: string, active: boolean) {
  const action = active ? "activate" : "deactivate";
  const answer = await api(s, "POST", `/v1/webhooks/${webhookId}/${action}`, { token: apiKey });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body;
}

function replay(s: Stack, apiKey: string, webhookId: string, since: number) {
  return api(s, "POST", `/v1/webhooks/${webhookId}/replay`, { token: apiKey, body: { since } });
}

/** The webhook's payloads, oldest first, with their events. */
async function payloadsOf(s: Stack, apiKey: string, webhookId: string) {
  const answer = await api(s, "GET", `/v1/webhooks/${webhookId}/payloads?limit=100`, {
    token: apiKey,
  });
  assert.equal(answer.status, 200);
  return (answer.body.data as any[]).reverse();
}

test("three events published while a webhook was deactivated are sent after a replay, oldest first; a second replay finds nothing", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  const other = await startReceiver();
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url });
  const sibling = await createWebhook(s, org.apiKey, { url: other.url });

  const { deactivatedAt } = await setActive(s, org.apiKey, webhook.id, false);
  const published = [];
  for (const n of [1, 2, 3]) {
    published.push(await publish(s, org.apiKey, "order.updated", { n }));
  }
  // A test send to another webhook belongs to that one alone: never replayed.
  assert.equal(
    (await api(s, "POST", `/v1/webhooks/${sibling.id}/test`, { token: org.apiKey })).status,
    202,
  );
  for (const p of published) assert.deepEqual(p.payloads.map((x) => x.webhookId), [sibling.id]);
  await setActive(s, org.apiKey, webhook.id, true);

  const first = await replay(s, org.apiKey, webhook.id, deactivatedAt);
  assert.equal(first.status, 202, JSON.stringify(first.body));
  assert.deepEqual(first.body, { count: 3 });
  await waitFor("the three replayed events", () => receiver.received.length >= 3);
  assert.deepEqual(
    receiver.received.map((r) => (r.body.items as any).data.n).sort(),
    [1, 2, 3],
  );
  // Oldest first: each payload takes its event's time, so the list shows the events' order.
  const payloads = await payloadsOf(s, org.apiKey, webhook.id);
  assert.deepEqual(
    payloads.map((p) => p.createdAt),
    payloads.map((p) => p.createdAt).sort((a, b) => a - b),
  );
  const bodies = await Promise.all(payloads.map(async (p) => {
    await waitFor(
      `payload ${p.id} delivered`,
      async () =>
        (await api(s, "GET", `/v1/payloads/${p.id}`, { token: org.apiKey })).body.status ===
          "delivered",
    );
    return (await api(s, "GET", `/v1/payloads/${p.id}`, { token: org.apiKey })).body.body;
  }));
  assert.deepEqual(bodies.map((b) => b.items.data.n), [1, 2, 3]);
  assert.deepEqual(bodies.map((b) => b.event), ["order.updated", "order.updated", "order.updated"]);
  // Signed and shaped like any payload.
  for (const got of receiver.received) {
    assert.match(got.headers["webhook-signature"] ?? "", /^v1,/);
    assert.equal((got.body.items as any).object, "order");
  }

  const again = await replay(s, org.apiKey, webhook.id, deactivatedAt);
  assert.deepEqual([again.status, again.body], [202, { count: 0 }]);
  assert.equal((await payloadsOf(s, org.apiKey, webhook.id)).length, 3);
  assert.equal(receiver.received.length, 3);
  await Promise.all([receiver.close(), other.close()]);
});

test("a replay skips events before since, before the webhook's creation, of types it does not subscribe to, of other organizations, and the ones it got", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const stranger = await createOrganization(s);
  const receiver = await startReceiver();
  await publish(s, org.apiKey, "order.created", { what: "before the webhook" });
  const webhook = await createWebhook(s, org.apiKey, {
    url: receiver.url,
    eventTypes: ["order.*"],
  });
  const got = await publish(s, org.apiKey, "order.created", { what: "got it live" });
  assert.deepEqual(got.payloads.map((p) => p.webhookId), [webhook.id]);
  await waitFor("the live delivery", () => receiver.received.length === 1);

  await setActive(s, org.apiKey, webhook.id, false);
  await publish(s, org.apiKey, "order.paid", { what: "before since" });
  await new Promise((r) => setTimeout(r, 5)); // `since` must fall between two events
  const since = Date.now();
  await publish(s, org.apiKey, "order.paid", { what: "missed 1" });
  await publish(s, org.apiKey, "invoice.paid", { what: "not subscribed" });
  await publish(s, stranger.apiKey, "order.paid", { what: "another organization" });
  await publish(s, org.apiKey, "order.line.added", { what: "missed 2" });
  await setActive(s, org.apiKey, webhook.id, true);

  const answer = await replay(s, org.apiKey, webhook.id, since);
  assert.deepEqual([answer.status, answer.body], [202, { count: 2 }]);
  await waitFor("the two missed events", () => receiver.received.length === 3);
  assert.deepEqual(
    receiver.received.map((r) => (r.body.items as any).data.what).sort(),
    ["got it live", "missed 1", "missed 2"],
  );

  // From the start of time: the one before `since` now, still nothing before the creation.
  const wider = await replay(s, org.apiKey, webhook.id, Date.now() - 3_600_000);
  assert.deepEqual([wider.status, wider.body], [202, { count: 1 }]);
  await waitFor("the event before since", () => receiver.received.length === 4);
  assert.equal((receiver.received[3]!.body.items as any).data.what, "before since");
  await receiver.close();
});

test("a replay is refused for a deactivated webhook (409), a since beyond RETENTION (422) or another organization's webhook (404), and changes nothing", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const stranger = await createOrganization(s);
  const webhook = await createWebhook(s, org.apiKey, { url: "https://127.0.0.1:9/in" });
  await setActive(s, org.apiKey, webhook.id, false);
  await publish(s, org.apiKey, "order.paid", { n: 1 });
  const before = await snapshot(s);

  const inactive = await replay(s, org.apiKey, webhook.id, Date.now() - 60_000);
  assert.deepEqual([inactive.status, inactive.body.error.code], [409, "webhook_inactive"]);
  assert.equal(await snapshot(s), before);
  await setActive(s, org.apiKey, webhook.id, true);
  const afterActivation = await snapshot(s);

  const tooOld = await replay(s, org.apiKey, webhook.id, Date.now() - 31 * 86_400_000);
  assert.equal(tooOld.status, 422);
  assert.equal(tooOld.body.error.code, "validation_failed");
  assert.equal(tooOld.body.error.details[0].path, "body.since");
  assert.match(tooOld.body.error.message, /RETENTION \(30d\)/);
  const foreign = await replay(s, stranger.apiKey, webhook.id, Date.now() - 60_000);
  assert.equal(foreign.status, 404);
  for (const body of [{}, { since: "yesterday" }, { since: -1 }, { since: 1, extra: true }]) {
    const bad = await api(s, "POST", `/v1/webhooks/${webhook.id}/replay`, {
      token: org.apiKey,
      body,
    });
    assert.equal(bad.status, 422, JSON.stringify(body));
  }
  assert.equal((await api(s, "POST", `/v1/webhooks/${webhook.id}/replay`, {})).status, 401);
  assert.equal(await snapshot(s), afterActivation);
});

/** A browser's sign-in with an API key: the session cookie's value. */
async function signIn(s: Stack, apiKey: string): Promise<string> {
  const response = await fetch(`${s.apiUrl}/sign-in`, {
    method: "POST",
    headers: { origin: s.apiUrl },
    body: new URLSearchParams({ apiKey }),
    redirect: "manual",
  });
  await response.body?.cancel();
  return /herald_session=([^;]*)/.exec(response.headers.get("set-cookie") ?? "")![1]!;
}

test("the dashboard's Reactivate offers to also send the events missed since the deactivation, counted before the click", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url });
  await setActive(s, org.apiKey, webhook.id, false);
  for (const n of [1, 2]) await publish(s, org.apiKey, "order.updated", { n });

  const session = await signIn(s, org.apiKey);
  const cookie = `herald_session=${session}`;
  const html = await (await fetch(`${s.apiUrl}/webhooks/${webhook.id}`, { headers: { cookie } }))
    .text();
  assert.match(html, /data-missed="2"/);
  assert.match(html, /also send the 2 events missed since it was deactivated/);
  const since = /name="replaySince" value="(\d+)"/.exec(html)![1]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)![1]!;

  const response = await fetch(`${s.apiUrl}/webhooks/${webhook.id}/activate`, {
    method: "POST",
    headers: { cookie, origin: s.apiUrl },
    body: new URLSearchParams({ _csrf: csrf, replaySince: since }),
    redirect: "manual",
  });
  await response.body?.cancel();
  assert.equal(response.status, 303);
  assert.match(
    decodeURIComponent(response.headers.get("location") ?? ""),
    /reactivated; 2 missed event\(s\) sent/,
  );
  await waitFor("the two missed events", () => receiver.received.length === 2);

  // Active again: the page offers nothing more.
  const after = await (await fetch(`${s.apiUrl}/webhooks/${webhook.id}`, { headers: { cookie } }))
    .text();
  assert.doesNotMatch(after, /data-missed/);
  await receiver.close();
});

stopStackAfterTests();
