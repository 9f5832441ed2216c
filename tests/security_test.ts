// deno-lint-ignore-file no-explicit-any
/** Nobody gets in where they do not belong, and nothing bad gets through. */
import assert from "node:assert/strict";
import { sql } from "kysely";
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
import { hostileCases, type Who } from "./hostile_requests.ts";
import { startReceiver } from "./receiver.ts";
import { setLogLevel, setLogSink } from "../src/log.ts";
import { historyToJSON } from "@temporalio/common/lib/proto-utils.js";

/** Herald as in production: only public HTTPS URLs. */
const STRICT = { ALLOW_PRIVATE_NETWORKS: "false" };

interface Fixture {
  s: Stack;
  org: { id: string; apiKey: string };
  other: { id: string; apiKey: string };
  webhook: string;
  contact: string;
}

let fixture: Promise<Fixture> | undefined;
function strictFixture(): Promise<Fixture> {
  fixture ??= (async () => {
    // No name resolves here: the fixture's webhook is saved unresolved and never delivered to.
    const s = await stack(STRICT, { resolve: () => Promise.reject(new Error("no lookups")) });
    const org = await createOrganization(s);
    const other = await createOrganization(s);
    // The contact comes before the webhook, so no delivery runs while the suite compares snapshots.
    const contact = await api(s, "POST", "/v1/contacts", {
      token: org.apiKey,
      body: { fields: { email: "a@example.com" } },
    });
    const webhook = await createWebhook(s, org.apiKey, { url: "https://example.com/hooks" });
    return { s, org, other, webhook: webhook.id, contact: contact.body.id };
  })();
  return fixture;
}

function tokenFor(f: Fixture, who: Who): string | undefined {
  return {
    key: f.org.apiKey,
    admin: ADMIN_TOKEN,
    none: undefined,
    bad: "hk_not_a_real_key",
    otherKey: f.other.apiKey,
  }[who];
}

const cases = hostileCases();
test(`the hostile request table has at least 200 distinct cases (${cases.length})`, () => {
  assert.ok(cases.length >= 200);
  assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, "case names repeat");
  return Promise.resolve();
});

for (const c of cases) {
  test(`refused: ${c.name} → ${c.status} ${c.code}`, async () => {
    const f = await strictFixture();
    const path = c.path.replace("{webhook}", f.webhook).replace("{contact}", f.contact)
      .replace("{org}", f.org.id);
    const before = await snapshot(f.s);
    const headers = { ...c.headers };
    if (c.raw !== undefined) headers["content-type"] ??= "application/json";
    const answer = await api(f.s, c.method, path, {
      token: tokenFor(f, c.who),
      body: c.body,
      raw: c.raw,
      headers,
    });
    assert.equal(answer.status, c.status, JSON.stringify(answer.body));
    assert.deepEqual(Object.keys(answer.body.error), ["code", "message", "details"]);
    assert.equal(answer.body.error.code, c.code, answer.body.error.message);
    assert.equal(await snapshot(f.s), before, "a refused request changed the database");
  });
}

test("another organization's key gets 404 for every one of A's objects, and lists never show them", async () => {
  const s = await stack();
  const a = await createOrganization(s);
  const b = await createOrganization(s);
  const receiver = await startReceiver();
  const webhook = await createWebhook(s, a.apiKey, { url: receiver.url });
  const contact =
    (await api(s, "POST", "/v1/contacts", { token: a.apiKey, body: { fields: { x: 1 } } })).body;
  await waitFor("A's delivery", () => receiver.received.length === 1);
  const payloadId = receiver.received[0]!.body._id as string;
  // The attempt's outcome is recorded after the receiver answered: wait for it.
  await waitFor(
    "A's delivery recorded",
    async () =>
      (await api(s, "GET", `/v1/payloads/${payloadId}`, { token: a.apiKey })).body.status ===
        "delivered",
  );
  await createWebhook(s, b.apiKey, { url: receiver.url });

  const before = await snapshot(s);
  const attempts: Array<[string, string, unknown?]> = [
    ["GET", `/v1/organizations/${a.id}`],
    ["GET", `/v1/webhooks/${webhook.id}`],
    ["PATCH", `/v1/webhooks/${webhook.id}`, { name: "stolen" }],
    ["DELETE", `/v1/webhooks/${webhook.id}`],
    ["POST", `/v1/webhooks/${webhook.id}/activate`],
    ["POST", `/v1/webhooks/${webhook.id}/deactivate`],
    ["POST", `/v1/webhooks/${webhook.id}/rotate-secret`],
    ["POST", `/v1/webhooks/${webhook.id}/recover`, { since: 0 }],
    ["GET", `/v1/webhooks/${webhook.id}/payloads`],
    ["GET", `/v1/contacts/${contact.id}`],
    ["PATCH", `/v1/contacts/${contact.id}`, { fields: { x: 2 } }],
    ["DELETE", `/v1/contacts/${contact.id}`],
    ["GET", `/v1/payloads/${payloadId}`],
    ["POST", `/v1/payloads/${payloadId}/resend`],
  ];
  for (const [method, path, body] of attempts) {
    const answer = await api(s, method, path, { token: b.apiKey, body });
    assert.equal(answer.status, 404, `${method} ${path}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.error.code, "not_found");
  }
  assert.equal(await snapshot(s), before);
  const list = await api(s, "GET", "/v1/webhooks", { token: b.apiKey });
  assert.equal(list.body.data.length, 1);
  assert.notEqual(list.body.data[0].id, webhook.id);
  await receiver.close();
});

test("a revoked API key is refused, and the other keys of the organization keep working", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const second = await api(s, "POST", `/v1/organizations/${org.id}/api-keys`, {
    token: ADMIN_TOKEN,
  });
  assert.equal(second.status, 201);
  assert.equal((await api(s, "GET", "/v1/webhooks", { token: second.body.apiKey })).status, 200);
  const revoked = await api(s, "DELETE", `/v1/organizations/${org.id}/api-keys/${second.body.id}`, {
    token: ADMIN_TOKEN,
  });
  assert.equal(revoked.status, 204);
  assert.equal((await api(s, "GET", "/v1/webhooks", { token: second.body.apiKey })).status, 401);
  assert.equal((await api(s, "GET", "/v1/webhooks", { token: org.apiKey })).status, 200);
  const stored = await s.infra.database.db.selectFrom("api_keys").select("key_hash")
    .where("organization_id", "=", org.id).execute();
  assert.ok(stored.every((k) => !k.key_hash.includes(org.apiKey) && k.key_hash.length === 64));
});

test("an API key over its rate gets 429 with Retry-After", async () => {
  const s = await stack({ API_RATE_LIMIT: "5" });
  const org = await createOrganization(s);
  const answers = await Promise.all(
    Array.from({ length: 30 }, () => api(s, "GET", "/v1/webhooks", { token: org.apiKey })),
  );
  const limited = answers.filter((a) => a.status === 429);
  assert.ok(limited.length >= 15, `${limited.length} of 30 limited`);
  assert.equal(limited[0]!.body.error.code, "rate_limited");
  assert.match(limited[0]!.headers.get("retry-after") ?? "", /^\d+$/);
  const other = await createOrganization(s);
  assert.equal((await api(s, "GET", "/v1/webhooks", { token: other.apiKey })).status, 200);
});

test("a name that resolves to loopback is refused at attempt time and recorded", async () => {
  // The name resolves through the test's own resolver: no lookup leaves the machine.
  const name = "loopback.herald.test";
  const resolve = (host: string) =>
    host === name ? Promise.resolve(["127.0.0.1"]) : Promise.reject(new Error("unknown name"));
  const loose = await stack({}, { resolve });
  const strict = await stack(STRICT, { resolve });
  const org = await createOrganization(loose);
  const receiver = await startReceiver();
  const port = new URL(receiver.url).port;
  // Saved where private networks are allowed, then delivered by a Herald where they are not.
  const webhook = await createWebhook(loose, org.apiKey, { url: `https://${name}:${port}/hooks` });
  const refusedAtSave = await api(strict, "POST", "/v1/webhooks", {
    token: org.apiKey,
    body: { url: `https://${name}:${port}/hooks` },
  });
  assert.equal(refusedAtSave.status, 422);
  assert.match(refusedAtSave.body.error.message, /loopback/);

  const published = await api(strict, "POST", "/v1/events", {
    token: org.apiKey,
    body: { event: "ssrf.probe", object: "probe", data: {} },
  });
  const payloadId = published.body.payloads.find((p: any) => p.webhookId === webhook.id).id;
  const p = await waitFor("the refused attempt", async () => {
    const p = (await api(strict, "GET", `/v1/payloads/${payloadId}`, { token: org.apiKey })).body;
    return p.attemptLog[0]?.finishedAt ? p : undefined;
  });
  assert.match(p.attemptLog[0].error, /^Refused: the URL must not resolve to a loopback address/);
  assert.equal(p.attemptLog[0].responseStatus, null);
  assert.equal(receiver.received.length, 0);
  await api(strict, "DELETE", `/v1/webhooks/${webhook.id}`, { token: org.apiKey });
  await receiver.close();
});

test("during a rotation both signatures verify, each with its own secret; after the overlap only the new one", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url });
  const rotated = await api(s, "POST", `/v1/webhooks/${webhook.id}/rotate-secret`, {
    token: org.apiKey,
  });
  assert.equal(rotated.status, 200);
  assert.notEqual(rotated.body.signingSecret, webhook.signingSecret);
  assert.match(rotated.body.signingSecret, /^whsec_/);

  const publish = () =>
    api(s, "POST", "/v1/events", {
      token: org.apiKey,
      body: { event: "a.b", object: "o", data: {} },
    });
  await publish();
  const during = await waitFor("a delivery during the overlap", () => receiver.received[0]);
  const headersOf = (r: typeof during) => ({
    "webhook-id": r.headers["webhook-id"]!,
    "webhook-timestamp": r.headers["webhook-timestamp"]!,
    "webhook-signature": r.headers["webhook-signature"]!,
  });
  assert.equal(during.headers["webhook-signature"]!.split(" ").length, 2);
  for (const secret of [webhook.signingSecret, rotated.body.signingSecret]) {
    new Webhook(secret).verify(during.rawBody, headersOf(during));
    const [onlyOne] = during.headers["webhook-signature"]!.split(" ").filter((sig) => {
      try {
        new Webhook(secret).verify(during.rawBody, {
          ...headersOf(during),
          "webhook-signature": sig,
        });
        return true;
      } catch {
        return false;
      }
    });
    assert.ok(onlyOne, "each secret verifies exactly one of the two signatures");
  }

  // The overlap ends: its expiry is moved to the past, as 24 hours later.
  await sql`update webhooks set retired_signing_secrets = jsonb_set(retired_signing_secrets,
    '{0,expiresAt}', to_jsonb(${Date.now() - 1}::bigint)) where id = ${webhook.id}`
    .execute(s.infra.database.db);
  await publish();
  const after = await waitFor("a delivery after the overlap", () => receiver.received[1]);
  assert.equal(after.headers["webhook-signature"]!.split(" ").length, 1);
  new Webhook(rotated.body.signingSecret).verify(after.rawBody, headersOf(after));
  assert.throws(() => new Webhook(webhook.signingSecret).verify(after.rawBody, headersOf(after)));
  await receiver.close();
});

test("no secret, token or API key appears in a log line or in a Temporal workflow input or memo", async () => {
  const lines: string[] = [];
  const previous = setLogSink((line) => lines.push(line));
  setLogLevel("debug");
  try {
    const s = await stack({
      LOG_LEVEL: "debug",
      DELIVERY_RETRY_INTERVAL: "200ms",
      DELIVERY_MAX_ATTEMPTS: "2",
    });
    const org = await createOrganization(s);
    const receiver = await startReceiver();
    const verifyToken = "VT-CANARY-7f3a9c";
    const webhook = await createWebhook(s, org.apiKey, {
      url: `${receiver.url}?token=URL-CANARY-5d1e`,
      verifyToken,
      headers: { authorization: "Bearer HEADER-CANARY-2b8e" },
    });
    await api(s, "POST", "/v1/contacts", { token: org.apiKey, body: { fields: { a: 1 } } });
    await waitFor("a delivery", () => receiver.received.length === 1);
    const rotated = await api(s, "POST", `/v1/webhooks/${webhook.id}/rotate-secret`, {
      token: org.apiKey,
    });
    receiver.answer(() => new Response("no", { status: 500 }));
    await api(s, "POST", "/v1/contacts", { token: org.apiKey, body: { fields: { a: 2 } } });
    await waitFor(
      "deactivation",
      async () =>
        (await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey })).body.status ===
          "deactivated",
    );
    receiver.answer(() => new Response("ok"));
    await api(s, "POST", `/v1/webhooks/${webhook.id}/activate`, { token: org.apiKey });

    const secrets = [
      verifyToken,
      "URL-CANARY-5d1e",
      "HEADER-CANARY-2b8e",
      webhook.signingSecret,
      webhook.signingSecret.slice(6),
      rotated.body.signingSecret,
      rotated.body.signingSecret.slice(6),
      org.apiKey,
      ADMIN_TOKEN,
    ];
    assert.ok(lines.some((l) => l.includes('"msg":"attempt"')), "attempts were logged");
    for (const line of lines) {
      for (const secret of secrets) {
        assert.ok(!line.includes(secret), `a log line holds a secret: ${line}`);
      }
    }

    const seen: string[] = [];
    // The visibility store is eventually consistent: wait until it lists both deliveries.
    const workflowIds = await waitFor("both deliveries in the visibility store", async () => {
      const ids: string[] = [];
      const query = `WebhookId = "${webhook.id}"`;
      for await (const execution of s.herald.temporal.workflow.list({ query })) {
        ids.push(execution.workflowId);
      }
      return ids.length >= 2 && ids;
    });
    for (const workflowId of workflowIds) {
      const handle = s.herald.temporal.workflow.getHandle(workflowId);
      seen.push(historyToJSON(await handle.fetchHistory()));
      seen.push(JSON.stringify(await (await handle.describe()).memo));
    }
    const lifecycle = s.herald.temporal.workflow.getHandle(`webhook:${webhook.id}`);
    seen.push(historyToJSON(await lifecycle.fetchHistory()));
    assert.ok(seen.length >= 5);
    const decoded = seen.map((text) =>
      text.replace(/"data":"([A-Za-z0-9+/=]+)"/g, (_, b64) =>
        new TextDecoder().decode(
          Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0)),
        ))
    ).join("\n");
    for (const secret of secrets) assert.ok(!decoded.includes(secret), `Temporal holds ${secret}`);
    await receiver.close();
  } finally {
    setLogSink(previous);
    setLogLevel("error");
  }
});

stopStackAfterTests();
