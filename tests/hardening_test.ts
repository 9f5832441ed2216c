// deno-lint-ignore-file no-explicit-any
/**
 * What an attacker tried, and what must hold: secrets in webhook URLs never leave the webhook
 * record, limits on webhooks and on failed authentication, a metrics token, retired secrets that
 * keep signing, verify tokens masked in answers. (Bad bytes are in the hostile-request table.)
 */
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import {
  ADMIN_TOKEN,
  api,
  createOrganization,
  createWebhook,
  stack,
  stopStackAfterTests,
  test,
  waitFor,
} from "./harness.ts";
import { startReceiver } from "./receiver.ts";
import { setLogSink } from "../src/log.ts";
import { deliveryWorkflowId } from "../src/temporal/names.ts";

test("a secret in a webhook URL's path or query appears nowhere but the webhook record", async () => {
  const lines: string[] = [];
  const previous = setLogSink((line) => lines.push(line));
  const s = await stack({ DELIVERY_MAX_ATTEMPTS: "1" });
  try {
    const org = await createOrganization(s);
    // A receiver that is gone: the attempt fails with the transport's own error text.
    const gone = await startReceiver();
    await gone.close();
    const secretPath = "/services/T000/B000/s3cr3tP4th";
    const url = `${new URL(gone.url).origin}${secretPath}?token=s3cr3tQu3ry`;
    const webhook = await createWebhook(s, org.apiKey, { url });
    const published = await api(s, "POST", "/v1/events", {
      token: org.apiKey,
      body: { event: "a.b", object: "o", data: {} },
    });
    const payloadId = published.body.payloads[0].id;
    const final = await waitFor("the failed attempt", async () => {
      const p = (await api(s, "GET", `/v1/payloads/${payloadId}`, { token: org.apiKey })).body;
      return p.status === "failed" && p;
    });
    const handle = s.herald.temporal.workflow.getHandle(deliveryWorkflowId(payloadId));
    const description = await handle.describe();
    const history = JSON.stringify((await handle.fetchHistory()).events);
    const places: Record<string, string> = {
      "the attempt's error": final.attemptLog[0].error,
      "the memo": JSON.stringify(description.memo),
      "the summary and history": history,
      "the logs": lines.join("\n"),
    };
    for (const [where, text] of Object.entries(places)) {
      assert.ok(!text.includes("s3cr3t"), `${where} shows the URL's secret: ${text.slice(0, 300)}`);
    }
    assert.match(final.attemptLog[0].error, new RegExp(new URL(gone.url).host));
    // The webhook record itself keeps the URL, as its owner set it.
    const record = (await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey })).body;
    assert.equal(record.url, url);
  } finally {
    setLogSink(previous);
  }
});

test("an organization has at most MAX_WEBHOOKS_PER_ORGANIZATION webhooks, even under concurrent creation", async () => {
  const s = await stack({ MAX_WEBHOOKS_PER_ORGANIZATION: "3" });
  const org = await createOrganization(s);
  const answers = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      api(s, "POST", "/v1/webhooks", {
        token: org.apiKey,
        body: { url: `https://example.com/hooks/${i}` },
      })),
  );
  const statuses = answers.map((a) => a.status).sort();
  assert.deepEqual(statuses, [201, 201, 201, 409, 409, 409, 409, 409]);
  const refused = answers.find((a) => a.status === 409)!;
  assert.equal(refused.body.error.code, "limit_reached");
  // Deleting one makes room for one.
  const created = answers.find((a) => a.status === 201)!.body;
  await api(s, "DELETE", `/v1/webhooks/${created.id}`, { token: org.apiKey });
  const again = await api(s, "POST", "/v1/webhooks", {
    token: org.apiKey,
    body: { url: "https://example.com/hooks/again" },
  });
  assert.equal(again.status, 201);
});

test("failed authentication is slowed down per client address: unknown keys, tokens and sign-ins only", async () => {
  const s = await stack({ AUTH_FAILURE_LIMIT: "5" });
  const org = await createOrganization(s);
  for (let i = 0; i < 5; i++) {
    const bad = await api(s, "GET", "/v1/webhooks", { token: `hk_wrong_${i}` });
    assert.equal(bad.status, 401);
  }
  const throttled = await api(s, "GET", "/v1/webhooks", { token: "hk_wrong_again" });
  assert.equal(throttled.status, 429);
  assert.equal(throttled.body.error.code, "too_many_failures");
  assert.ok(Number(throttled.headers.get("retry-after")) >= 1);
  // A wrong admin token and a wrong sign-in are throttled too.
  assert.equal(
    (await api(s, "GET", `/v1/organizations/${org.id}`, { token: "hadm_wrong_0123456789" })).status,
    429,
  );
  const signIn = async (apiKey: string) => {
    const answer = await fetch(`${s.apiUrl}/sign-in`, {
      method: "POST",
      headers: { origin: s.apiUrl },
      body: new URLSearchParams({ apiKey }),
      redirect: "manual",
    });
    await answer.body?.cancel();
    return decodeURIComponent(answer.headers.get("location") ?? "");
  };
  assert.match(await signIn("hk_wrong_sign_in"), /Too many failed sign-ins/);
  // Valid credentials from the same address are never refused for its failures.
  assert.equal((await api(s, "GET", "/v1/webhooks", { token: org.apiKey })).status, 200);
  assert.equal(
    (await api(s, "GET", `/v1/organizations/${org.id}`, { token: ADMIN_TOKEN })).status,
    200,
  );
  assert.equal(await signIn(org.apiKey), "/webhooks");
});

test("METRICS_TOKEN puts /metrics behind a bearer token", async () => {
  const s = await stack({ METRICS_TOKEN: "metrics-token-0123456789" });
  const open = await fetch(`${s.apiUrl}/metrics`);
  assert.equal(open.status, 401);
  assert.equal((await open.json()).error.code, "unauthorized");
  const wrong = await fetch(`${s.apiUrl}/metrics`, { headers: { authorization: "Bearer nope" } });
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  const scraped = await fetch(`${s.apiUrl}/metrics`, {
    headers: { authorization: "Bearer metrics-token-0123456789" },
  });
  assert.equal(scraped.status, 200);
  assert.match(await scraped.text(), /^herald_payloads\{status="delivering"\} \d+$/m);
});

test("every secret retired in the last 24 hours keeps signing; the verify token is masked in answers", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  const webhook = await createWebhook(s, org.apiKey, {
    url: receiver.url,
    verifyToken: "vt-secret",
  });
  const secrets = [webhook.signingSecret];
  for (let i = 0; i < 2; i++) {
    const rotated = await api(s, "POST", `/v1/webhooks/${webhook.id}/rotate-secret`, {
      token: org.apiKey,
    });
    secrets.push(rotated.body.signingSecret);
  }
  const published = await api(s, "POST", "/v1/events", {
    token: org.apiKey,
    body: { event: "a.b", object: "o", data: {} },
  });
  const got = await waitFor("the delivery", () => receiver.received[0]);
  assert.equal(got.headers["webhook-signature"]!.split(" ").length, 3);
  for (const secret of secrets) {
    assert.doesNotThrow(() =>
      new Webhook(secret).verify(got.rawBody, {
        "webhook-id": got.headers["webhook-id"]!,
        "webhook-timestamp": got.headers["webhook-timestamp"]!,
        "webhook-signature": got.headers["webhook-signature"]!,
      })
    );
  }
  // The receiver gets the verify token; the API never shows it back.
  assert.equal((got.body as any).items.infoWebhook.verifyToken, "vt-secret");
  const payloadId = published.body.payloads[0].id;
  const shown = await waitFor("the recorded body", async () => {
    const p = (await api(s, "GET", `/v1/payloads/${payloadId}`, { token: org.apiKey })).body;
    return p.body ? p : undefined;
  });
  assert.equal(shown.body.items.infoWebhook.verifyToken, "[redacted]");
  assert.ok(!JSON.stringify(shown).includes("vt-secret"));
  await receiver.close();
});

test("a PATCH that changes nothing records its Idempotency-Key: a repeat changes nothing, another body is a conflict", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const created = await api(s, "POST", "/v1/contacts", {
    token: org.apiKey,
    body: { fields: { email: "same@example.com" } },
  });
  const path = `/v1/contacts/${created.body.id}`;
  const keyed = (body: unknown) =>
    api(s, "PATCH", path, { token: org.apiKey, body, headers: { "idempotency-key": "noop-1" } });
  const events = () =>
    s.infra.database.db.selectFrom("events").select("id")
      .where("organization_id", "=", org.id).execute().then((rows) => rows.length);

  const noop = await keyed({ fields: { email: "same@example.com" } });
  assert.equal(noop.status, 200);
  assert.equal(await events(), 1, "no change, no event");

  // Someone else changes the contact; a retry of the keyed no-op must not undo that.
  await api(s, "PATCH", path, {
    token: org.apiKey,
    body: { fields: { email: "new@example.com" } },
  });
  const repeat = await keyed({ fields: { email: "same@example.com" } });
  assert.equal(repeat.status, 200);
  assert.equal(repeat.body.fields.email, "new@example.com", "the repeat wrote nothing");
  assert.equal(await events(), 2, "and recorded no event");

  const other = await keyed({ fields: { email: "other@example.com" } });
  assert.equal(other.status, 409);
  assert.equal(other.body.error.code, "idempotency_conflict");
});

stopStackAfterTests();
