/** The dashboard as a person uses it, in a real browser. */
import assert from "node:assert/strict";
import { api, createOrganization, stack, stopStackAfterTests, test, waitFor } from "./harness.ts";
import { startReceiver } from "./receiver.ts";
import { artifactPath, launchBrowser } from "./browser.ts";

test("dashboard: sign in, create a webhook, see a delivery, watch it fail and deactivate, reactivate it", async () => {
  const s = await stack({ DELIVERY_RETRY_INTERVAL: "200ms", DELIVERY_MAX_ATTEMPTS: "2" });
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(`${s.apiUrl}/`);
    await page.fill("input[name=apiKey]", "hk_wrong");
    await page.click("button[type=submit]");
    assert.match(await page.textContent("[role=alert]") ?? "", /not accepted/);
    await page.fill("input[name=apiKey]", org.apiKey);
    await page.click("button[type=submit]");
    await page.waitForURL("**/webhooks");

    // A bad URL shows the API's message, readably.
    await page.fill("input[name=url]", "http://insecure.example.com/hook");
    await page.click("form[action='/webhooks'] button");
    assert.match(
      await page.textContent("[role=alert]") ?? "",
      /Invalid webhook URL: must use https/,
    );

    await page.fill("input[name=url]", receiver.url);
    await page.fill("input[name=verifyToken]", "dash-token");
    await page.click("form[action='/webhooks'] button");
    const secret = await page.textContent("[data-secret]");
    assert.match(secret ?? "", /^whsec_/);
    await page.screenshot({ path: await artifactPath("dashboard-1-created.png"), fullPage: true });
    const webhookId = await page.getAttribute("tr[data-webhook]", "data-webhook");
    assert.ok(webhookId);

    await api(s, "POST", "/v1/contacts", {
      token: org.apiKey,
      body: { fields: { email: "a@example.com" } },
    });
    await waitFor("the delivery", () => receiver.received.length === 1);
    await page.goto(`${s.apiUrl}/webhooks/${webhookId}`);
    await waitFor("a delivered payload on the page", async () => {
      await page.reload();
      return (await page.locator("tr[data-payload] .badge.delivered").count()) === 1;
    });
    assert.match(await page.textContent("tr[data-payload] .attempt") ?? "", /#1: 200 \d+ ms/);
    await page.screenshot({
      path: await artifactPath("dashboard-2-delivered.png"),
      fullPage: true,
    });

    receiver.answer(() => new Response("nope", { status: 500 }));
    await api(s, "POST", "/v1/contacts", {
      token: org.apiKey,
      body: { fields: { email: "b@example.com" } },
    });
    await waitFor(
      "deactivation",
      async () =>
        (await api(s, "GET", `/v1/webhooks/${webhookId}`, { token: org.apiKey })).body.status ===
          "deactivated",
    );
    await page.goto(`${s.apiUrl}/webhooks`);
    const row = page.locator(`tr[data-webhook='${webhookId}']`);
    assert.equal(await row.locator(".badge").textContent(), "deactivated");
    assert.match(await row.textContent() ?? "", /unreachable/);
    await page.screenshot({
      path: await artifactPath("dashboard-3-deactivated.png"),
      fullPage: true,
    });

    await page.goto(`${s.apiUrl}/webhooks/${webhookId}`);
    assert.match(
      await page.textContent("tr[data-payload]:first-child") ?? "",
      /failed[\s\S]*#2: 500/,
    );
    assert.equal(
      await page.locator("text=Workflow in Temporal UI").count(),
      0,
      "no UI link without a UI",
    );

    await page.goto(`${s.apiUrl}/webhooks`);
    await row.locator("summary").click();
    await row.getByRole("button", { name: "Activate", exact: true }).click();
    await page.waitForURL("**/webhooks?notice=*");
    assert.match(await page.textContent("[role=status]") ?? "", /Webhook activated/);
    assert.equal(
      await page.locator(`tr[data-webhook='${webhookId}'] .badge`).textContent(),
      "active",
    );
    await page.screenshot({
      path: await artifactPath("dashboard-4-reactivated.png"),
      fullPage: true,
    });
  } finally {
    await browser.close();
    await receiver.close();
  }
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
