/** The dashboard as a person uses it, in a real browser: every flow of the portal. */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { Webhook } from "standardwebhooks";
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
import { always200, startReceiver } from "./receiver.ts";
import { artifactPath, launchBrowser } from "./browser.ts";
import { metrics } from "../src/metrics.ts";

const FAILING_FAST = { DELIVERY_RETRY_INTERVAL: "200ms", DELIVERY_MAX_ATTEMPTS: "2" };

/** Signs a browser page in with an organization's key. */
async function signIn(page: Page, s: Stack, apiKey: string) {
  await page.goto(`${s.apiUrl}/`);
  await page.fill("input[name=apiKey]", apiKey);
  await page.click("button[type=submit]");
  await page.waitForURL("**/webhooks");
}

/** A payload's status, from the API. */
async function payloadStatus(s: Stack, apiKey: string, id: string): Promise<string> {
  return (await api(s, "GET", `/v1/payloads/${id}`, { token: apiKey })).body.status;
}

test("portal: sign in, create a webhook, see deliveries arrive in its charts and the list's success rate", async () => {
  const s = await stack(FAILING_FAST);
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(`${s.apiUrl}/`);
    await page.fill("input[name=apiKey]", "hk_wrong");
    await page.click("button[type=submit]");
    assert.match(await page.textContent("[role=alert]") ?? "", /not accepted/);
    await signIn(page, s, org.apiKey);

    // A bad URL shows the API's message, readably.
    await page.fill("input[name=url]", "http://insecure.example.com/hook");
    await page.click("form[action='/webhooks'] button");
    assert.match(await page.textContent("[role=alert]") ?? "", /must use https/);

    await page.fill("input[name=url]", receiver.url);
    await page.fill("input[name=name]", "Orders");
    await page.click("form[action='/webhooks'] button");
    assert.match(await page.textContent("[data-secret]") ?? "", /^whsec_/);
    assert.match(await page.textContent("h1") ?? "", /Orders/);
    const webhookId = new URL(
      await page.getAttribute("form[action$='/edit']", "action") ?? "",
      s.apiUrl,
    ).pathname.split("/")[2]!;

    for (let i = 0; i < 3; i++) {
      await api(s, "POST", "/v1/contacts", {
        token: org.apiKey,
        body: { fields: { email: `a${i}@example.com` } },
      });
    }
    await waitFor("three deliveries", () => receiver.received.length === 3);
    await waitFor("three delivered payloads on the page", async () => {
      await page.goto(`${s.apiUrl}/webhooks/${webhookId}`);
      return (await page.locator("tr[data-payload] .badge.delivered").count()) === 3;
    });
    const bars = page.locator("svg[data-chart=deliveries] rect[data-outcome=delivered]");
    const delivered = await bars.evaluateAll((rects) =>
      rects.reduce((sum, r) => sum + Number(r.getAttribute("data-count")), 0)
    );
    assert.equal(delivered, 3, "the chart counts three delivered payloads");
    assert.equal(await page.locator("svg[data-chart=latency] g[data-series=p50]").count(), 1);
    assert.equal(await page.textContent("strong[data-success-rate]"), "100 %");
    await page.screenshot({ path: await artifactPath("portal-webhook.png"), fullPage: true });

    await page.click("text=← Webhooks");
    const row = page.locator(`tr[data-webhook='${webhookId}']`);
    assert.equal(await row.locator("[data-success-rate]").textContent(), "100 %");
    assert.equal(await row.locator("[data-attempts]").textContent(), "3");
    await page.screenshot({ path: await artifactPath("portal-webhooks.png"), fullPage: true });
  } finally {
    await browser.close();
    await receiver.close();
  }
});

test("portal: a failing webhook deactivates; its payload opens to body and attempts; reactivate, resend and recover", async () => {
  const s = await stack(FAILING_FAST);
  const org = await createOrganization(s);
  const receiver = await startReceiver(() => new Response("not today", { status: 500 }));
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url, name: "Flaky" });
  const browser = await launchBrowser();
  try {
    const since = new Date(Date.now() - 60_000).toISOString().slice(0, 16);
    const first = await api(s, "POST", "/v1/events", {
      token: org.apiKey,
      body: { event: "order.created", object: "order", data: { n: 1 } },
    });
    const second = await api(s, "POST", "/v1/events", {
      token: org.apiKey,
      body: { event: "order.created", object: "order", data: { n: 2 } },
    });
    const firstId = first.body.payloads[0].id;
    const secondId = second.body.payloads[0].id;
    await waitFor(
      "both payloads to end",
      async () =>
        ["failed", "cancelled"].includes(await payloadStatus(s, org.apiKey, firstId)) &&
        ["failed", "cancelled"].includes(await payloadStatus(s, org.apiKey, secondId)),
    );
    // A payload ends before its compensation reaches the webhook's lifecycle workflow.
    await waitFor(
      "the deactivation",
      async () =>
        (await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey })).body.status ===
          "deactivated",
    );

    // The payload that failed first deactivated the webhook; the other may have been cancelled
    // by that deactivation after a single attempt. Open the one that used all its attempts.
    const failedId = await payloadStatus(s, org.apiKey, firstId) === "failed" ? firstId : secondId;
    const otherId = failedId === firstId ? secondId : firstId;
    assert.equal(await payloadStatus(s, org.apiKey, failedId), "failed");

    const page = await browser.newPage();
    await signIn(page, s, org.apiKey);
    await page.goto(`${s.apiUrl}/webhooks/${webhook.id}`);
    assert.equal(await page.textContent("h1 .badge"), "deactivated");
    assert.match(await page.textContent("main > p:nth-of-type(2)") ?? "", /unreachable/);

    await page.click(`a[href='/payloads/${failedId}']`);
    assert.match(await page.textContent("[data-body]") ?? "", /"_id": "/);
    assert.match(await page.textContent("[data-body]") ?? "", /"event": "order.created"/);
    assert.equal(await page.locator("tr.attempt").count(), 2);
    assert.match(await page.textContent("tr.attempt") ?? "", /500[\s\S]*not today/);
    await page.screenshot({ path: await artifactPath("portal-payload.png"), fullPage: true });

    receiver.answer(always200);
    await page.goto(`${s.apiUrl}/webhooks/${webhook.id}`);
    await page.click("button:text('Reactivate')");
    await page.waitForURL("**?notice=*");
    assert.equal(await page.textContent("h1 .badge"), "active");

    await page.goto(`${s.apiUrl}/payloads/${failedId}`);
    await page.click("button:text('Resend')");
    assert.match(await page.textContent("[role=status]") ?? "", /Sent again/);
    await waitFor(
      "the resent payload",
      async () => await payloadStatus(s, org.apiKey, failedId) === "delivered",
    );

    await page.goto(`${s.apiUrl}/webhooks/${webhook.id}`);
    await page.fill("input[name=since]", since);
    await page.click("form[action$='/recover'] button");
    assert.match(await page.textContent("[role=status]") ?? "", /1 payload\(s\) sent again/);
    await waitFor(
      "the recovered payload",
      async () => await payloadStatus(s, org.apiKey, otherId) === "delivered",
    );
  } finally {
    await browser.close();
    await receiver.close();
  }
});

test("portal: filter deliveries by status and event type, and page through them by cursor", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url });
  const browser = await launchBrowser();
  try {
    for (let i = 0; i < 25; i++) {
      await api(s, "POST", "/v1/events", {
        token: org.apiKey,
        body: { event: i < 15 ? "order.created" : "order.paid", object: "order", data: { i } },
      });
    }
    await waitFor("25 deliveries", () => receiver.received.length >= 25);
    const page = await browser.newPage();
    await signIn(page, s, org.apiKey);
    await page.goto(`${s.apiUrl}/webhooks/${webhook.id}`);
    assert.equal(await page.locator("tr[data-payload]").count(), 20, "a page holds 20");
    await page.click("a[rel=next]");
    assert.equal(await page.locator("tr[data-payload]").count(), 5, "the older five");
    assert.equal(await page.locator("a[rel=next]").count(), 0);
    await page.click("text=Newest");
    assert.equal(await page.locator("tr[data-payload]").count(), 20);

    await page.fill("input[name=event]", "order.paid");
    await page.click("form.filters button");
    assert.equal(await page.locator("tr[data-payload]").count(), 10);
    const events = await page.locator("tr[data-payload] td:nth-child(2)").allTextContents();
    assert.ok(events.every((e) => e === "order.paid"), events.join());
    await page.screenshot({ path: await artifactPath("portal-filtered.png"), fullPage: true });

    await page.selectOption("select[name=status]", "failed");
    await page.click("form.filters button");
    assert.equal(await page.locator("tr[data-payload]").count(), 0);
    assert.match(await page.textContent("#deliveries tbody") ?? "", /No deliveries match/);
  } finally {
    await browser.close();
    await receiver.close();
  }
});

test("portal: edit settings, reveal and rotate the signing secret, delete", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const webhook = await createWebhook(s, org.apiKey, {
    url: "https://127.0.0.1:9/old",
    verifyToken: "first-token",
  });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await signIn(page, s, org.apiKey);
    await page.goto(`${s.apiUrl}/webhooks/${webhook.id}`);
    await page.fill("input[name=name]", "Renamed");
    await page.fill("input[name=url]", "https://127.0.0.1:9/new");
    await page.click("form[action$='/edit'] button");
    assert.match(await page.textContent("[role=status]") ?? "", /Settings saved/);
    const saved = await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey });
    assert.equal(saved.body.name, "Renamed");
    assert.equal(saved.body.url, "https://127.0.0.1:9/new");
    assert.equal(saved.body.hasVerifyToken, true, "an empty token field keeps the token");

    await page.click("button:text('Reveal signing secret')");
    assert.equal(await page.textContent("[data-secret]"), webhook.signingSecret);
    // Rotating asks first: the summary opens the confirmation, its button rotates.
    await page.click("summary:text('Rotate signing secret…')");
    await page.click("button:text('Rotate the signing secret')");
    const rotated = await page.textContent("[data-secret]");
    assert.match(rotated ?? "", /^whsec_/);
    assert.notEqual(rotated, webhook.signingSecret);
    await page.click("button:text('Reveal signing secret')");
    assert.equal(await page.textContent("[data-secret]"), rotated);

    await page.click("summary:text('Delete…')");
    await page.click("button:text('Delete this webhook for good')");
    await page.waitForURL("**/webhooks?notice=*");
    assert.equal(await page.locator(`tr[data-webhook='${webhook.id}']`).count(), 0);
    const gone = await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey });
    assert.equal(gone.status, 404);
  } finally {
    await browser.close();
  }
});

test("portal: set a rate limit; a receiver's 429 shows how Herald slowed the webhook and why", async () => {
  const s = await stack(FAILING_FAST);
  const org = await createOrganization(s);
  // A gateway that is over its limit once: 429 with Retry-After: 30, then 200.
  const receiver = await startReceiver((n) =>
    n === 1
      ? new Response("slow down", { status: 429, headers: { "retry-after": "30" } })
      : new Response("ok")
  );
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await signIn(page, s, org.apiKey);
    await page.goto(`${s.apiUrl}/webhooks/${webhook.id}`);
    assert.equal(await page.textContent("[data-rate-limit]"), "none");

    // The API's own check answers a bad value, and nothing changes.
    // (The field's own min would stop the browser; the server must refuse it anyway.)
    await page.locator("input[name=rateLimit]").evaluateAll((inputs) =>
      inputs.forEach((input) => input.removeAttribute("min"))
    );
    await page.fill("input[name=rateLimit]", "0");
    await page.click("form[action$='/edit'] button");
    assert.match(await page.textContent("[role=alert]") ?? "", /rateLimit/);
    let saved = await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey });
    assert.equal(saved.body.rateLimit, null);

    await page.fill("input[name=rateLimit]", "20");
    await page.click("form[action$='/edit'] button");
    assert.match(await page.textContent("[role=status]") ?? "", /Settings saved/);
    assert.equal(await page.textContent("[data-rate-limit]"), "20 per second");
    saved = await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey });
    assert.equal(saved.body.rateLimit, 20);

    await api(s, "POST", "/v1/events", {
      token: org.apiKey,
      body: { event: "order.created", object: "order", data: { n: 1 } },
    });
    await waitFor("the 429 to be recorded", async () => {
      const w = await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey });
      return w.body.flowControl?.lastSignal?.status === 429;
    });
    await page.goto(`${s.apiUrl}/webhooks/${webhook.id}`);
    assert.match(await page.textContent("[data-signal]") ?? "", /slowed after 429/);
    assert.match(await page.textContent("[data-paused]") ?? "", /paused until .*Retry-After/);
    assert.match(await page.textContent("[data-pace]") ?? "", /at most \d+(\.\d)? per second/);
    assert.equal(receiver.received.length, 1, "nothing is sent while the Retry-After holds");

    // Emptying the field removes the limit.
    await page.fill("input[name=rateLimit]", "");
    await page.click("form[action$='/edit'] button");
    assert.match(await page.textContent("[role=status]") ?? "", /Settings saved/);
    saved = await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey });
    assert.equal(saved.body.rateLimit, null);
  } finally {
    await browser.close();
    await receiver.close();
  }
});

test("portal: subscribe to event types, set a header, send a signed test event, edit the subscription", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await signIn(page, s, org.apiKey);
    await page.fill("input[name=url]", receiver.url);
    await page.fill("input[name=name]", "Orders only");
    await page.fill("input[name=eventTypes]", "order.*");
    await page.fill("textarea[name=headers]", "X-Team: billing");
    await page.click("form[action='/webhooks'] button");
    const secret = await page.textContent("[data-secret]");
    assert.equal(await page.textContent("[data-event-types]"), "order.*");
    assert.equal(await page.textContent("[data-headers]"), "x-team: [redacted]");
    assert.doesNotMatch(await page.content(), /billing/, "the header's value is never shown");

    await page.click("button:text('Send test event')");
    assert.match(await page.textContent("[role=status]") ?? "", /Test event sent/);
    await waitFor("the test event", () => receiver.received.length === 1);
    const got = receiver.received[0]!;
    assert.equal(got.body.event, "webhook.test");
    assert.equal(got.headers["x-team"], "billing");
    new Webhook(secret!).verify(got.rawBody, {
      "webhook-id": got.headers["webhook-id"]!,
      "webhook-timestamp": got.headers["webhook-timestamp"]!,
      "webhook-signature": got.headers["webhook-signature"]!,
    });
    await waitFor("the test payload in the list", async () => {
      await page.reload();
      return await page.locator("tr[data-payload] .badge.delivered").count() === 1;
    });
    assert.equal(await page.textContent("tr[data-payload] td:nth-child(2)"), "webhook.test");
    await page.screenshot({ path: await artifactPath("portal-subscribed.png"), fullPage: true });

    // Subscribed to order.* only: a contact event is not for it, an order event is.
    await api(s, "POST", "/v1/contacts", { token: org.apiKey, body: { fields: { a: 1 } } });
    await api(s, "POST", "/v1/events", {
      token: org.apiKey,
      body: { event: "order.paid", object: "order", data: { amount: 1 } },
    });
    await waitFor("the order event", () => receiver.received.length === 2);
    assert.equal(receiver.received[1]!.body.event, "order.paid");

    await page.fill("input[name=eventTypes]", "*");
    await page.click("form[action$='/edit'] button");
    assert.match(await page.textContent("[role=status]") ?? "", /Settings saved/);
    assert.equal(await page.textContent("[data-event-types]"), "*");
    assert.equal(await page.textContent("[data-headers]"), "x-team: [redacted]", "headers kept");
    await api(s, "POST", "/v1/contacts", { token: org.apiKey, body: { fields: { b: 2 } } });
    await waitFor("the contact event, now subscribed", () => receiver.received.length === 3);
    assert.equal(receiver.received[2]!.body.event, "contact.created");
    assert.equal(receiver.received[2]!.headers["x-team"], "billing");
  } finally {
    await browser.close();
    await receiver.close();
  }
});

/** Requests the app has served so far (in-process calls included), from its metrics. */
function requestsServed(): number {
  return [...metrics.httpRequests.values.values()].reduce((sum, n) => sum + n, 0);
}

/** The webhook list as a signed-in browser gets it, and how many requests the app served for it. */
async function webhookList(s: Stack, session: string) {
  const before = requestsServed();
  const response = await fetch(`${s.apiUrl}/webhooks`, {
    headers: { cookie: `herald_session=${session}` },
  });
  const html = await response.text();
  assert.equal(response.status, 200);
  return { rows: html.match(/<tr data-webhook=/g)?.length ?? 0, served: requestsServed() - before };
}

test("the webhook list asks the API the same number of times for five webhooks as for one", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const signIn = await fetch(`${s.apiUrl}/sign-in`, {
    method: "POST",
    headers: { origin: s.apiUrl },
    body: new URLSearchParams({ apiKey: org.apiKey }),
    redirect: "manual",
  });
  await signIn.body?.cancel();
  const session = /herald_session=([^;]*)/.exec(signIn.headers.get("set-cookie") ?? "")?.[1];
  assert.ok(session, "signed in");

  // Nothing is ever sent to these: no event is published.
  await createWebhook(s, org.apiKey, { url: "https://127.0.0.1:9/one" });
  const one = await webhookList(s, session);
  assert.equal(one.rows, 1);
  for (let i = 2; i <= 5; i++) {
    await createWebhook(s, org.apiKey, { url: `https://127.0.0.1:9/${i}` });
  }
  const five = await webhookList(s, session);
  assert.equal(five.rows, 5);
  // The page itself and one call for the list; the totals are one query, not a call per webhook.
  assert.equal(one.served, 2, "requests for a list of one");
  assert.equal(five.served, one.served, "requests for a list of five, against a list of one");
});

test("the API docs render from Herald alone: no request leaves its origin, no policy violation", async () => {
  const s = await stack();
  const origin = new URL(s.apiUrl).origin;
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    const elsewhere: string[] = [];
    const violations: string[] = [];
    // Nothing may leave the machine: a request to another origin is recorded and never sent.
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (new URL(url).origin === origin) return route.continue();
      elsewhere.push(url);
      return route.abort();
    });
    page.on("console", (message) => {
      if (/Content.Security.Policy|Refused to/i.test(message.text())) {
        violations.push(message.text());
      }
    });
    const response = await page.goto(`${s.apiUrl}/docs`);
    assert.match(response?.headers()["content-security-policy"] ?? "", /script-src 'self'/);
    await page.waitForSelector(".opblock-summary-path[data-path='/v1/webhooks']", {
      timeout: 30_000,
    });
    assert.match(await page.textContent(".info .title") ?? "", /Herald/);
    await page.screenshot({ path: await artifactPath("docs.png") });
    assert.deepEqual(elsewhere, [], "requests to other origins");
    assert.deepEqual(violations, [], "Content-Security-Policy violations");
  } finally {
    await browser.close();
  }
});

stopStackAfterTests();
