/** An operator inspects a delivery in the embedded Temporal Web UI, in a real browser. */
import assert from "node:assert/strict";
import {
  api,
  createOrganization,
  createWebhook,
  sharedInfra,
  stack,
  stopStackAfterTests,
  test,
  waitFor,
} from "./harness.ts";
import { startReceiver } from "./receiver.ts";
import { artifactPath, launchBrowser } from "./browser.ts";

test("temporal ui: find a delivery by WebhookId, see its summary and its failed attempts", async () => {
  const infra = await sharedInfra({ temporalUi: true });
  assert.ok(infra.temporal.uiUrl, "the dev server serves its Web UI");
  // The seed's policy (5 attempts, 5 s apart): the delivery is still retrying while we look.
  const s = await stack();
  const org = await createOrganization(s);
  const receiver = await startReceiver(() => new Response("down for maintenance", { status: 503 }));
  const browser = await launchBrowser();
  try {
    const webhook = await createWebhook(s, org.apiKey, { url: receiver.url });
    await api(s, "POST", "/v1/contacts", {
      token: org.apiKey,
      body: { fields: { email: "ui@example.com" } },
    });
    await waitFor("a failed first attempt", () => receiver.received.length >= 1);
    const payloads = await api(s, "GET", `/v1/webhooks/${webhook.id}/payloads`, {
      token: org.apiKey,
    });
    const payloadId: string = payloads.body.data[0].id;
    const workflowId = `payload:${payloadId}`;

    // The operator's steps: Workflows, filter on WebhookId, open the one delivery.
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const query = encodeURIComponent(`WebhookId="${webhook.id}"`);
    await page.goto(`${infra.temporal.uiUrl}/namespaces/default/workflows?query=${query}`);
    const row = page.locator(`a:has-text("${workflowId}")`);
    await row.waitFor({ timeout: 30_000 });
    assert.equal(await page.locator("a:has-text('payload:')").count(), 1, "one delivery listed");
    await page.screenshot({ path: await artifactPath("temporal-ui-1-search.png"), fullPage: true });

    await row.click();
    await page.waitForURL(/\/history/);
    // The summary Herald gives each delivery: the event type and where it goes.
    const started = page.locator("text=contact.created →").first();
    await started.waitFor({ timeout: 30_000 });
    assert.match(await started.innerText(), new RegExp(`contact\\.created → ${receiver.url}`));
    await page.screenshot({
      path: await artifactPath("temporal-ui-2-history.png"),
      fullPage: true,
    });

    // The failed attempts: attempt 1 ran in the worker (a local activity); attempts 2 to 5 are
    // one activity with the retry policy, whose count and last failure the UI shows.
    await waitFor("a third failed attempt", () => receiver.received.length >= 3, 20_000);
    await page.reload();
    await page.click("text=Pending Activities");
    const pending = await waitFor("the pending attempt with its last failure", async () => {
      const text = await page.innerText("main");
      return /Last Failure/.test(text) && text;
    });
    const attempt = /Attempt\s+(\d) of 4/.exec(pending);
    assert.ok(attempt, `the attempt count is shown: ${pending.slice(0, 400)}`);
    assert.ok(Number(attempt[1]) >= 2, "the activity failed at least once before");
    assert.match(pending, /Receiver answered 503, not 200/);
    assert.match(pending, /DeliveryFailed/);
    await page.screenshot({
      path: await artifactPath("temporal-ui-3-attempts.png"),
      fullPage: true,
    });
  } finally {
    await browser.close();
    await receiver.close();
  }
});

stopStackAfterTests();
