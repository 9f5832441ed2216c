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
import { deliveryWorkflowId } from "../src/temporal/names.ts";

test("temporal ui: find a delivery by WebhookId, see its summary, its failed attempts and its failure", async () => {
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
    const workflowId = deliveryWorkflowId(payloadId);

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
    // Scheme, host and port only: a webhook URL's path may hold a secret.
    const origin = new URL(receiver.url).origin;
    assert.match(
      await started.innerText(),
      new RegExp(`contact\\.created → ${origin} \\(run 1\\)`),
    );
    await page.screenshot({
      path: await artifactPath("temporal-ui-2-history.png"),
      fullPage: true,
    });

    // The failed attempts: each is a local activity in the history; the delivery's current
    // details say which attempt failed, how, and when the next one comes.
    await waitFor("a third failed attempt", () => receiver.received.length >= 3, 20_000);
    // The UI asks the running workflow for its details (a query) once per page load and renders
    // them in a frame; the workflow records an attempt just after its receiver answered, so a load
    // may come a moment early: load again until the details show attempt 3 or 4.
    await waitFor("the current details of attempt 3 or 4", async () => {
      await page.reload();
      await page.click("text=User Metadata");
      const current = page.frameLocator("iframe >> nth=1").getByText(
        /Attempt [3-4] of 5 failed: answered 503\. Next in 5 s\./,
      );
      return await current.waitFor({ timeout: 3_000 }).then(() => true, () => false);
    }, 15_000);
    const details = await page.innerText("body");
    assert.match(details, /POST to the receiver: attempt 1 of 5/);
    await page.screenshot({
      path: await artifactPath("temporal-ui-3-attempts.png"),
      fullPage: true,
    });

    // Once it has failed, the operator lists the failed deliveries of that webhook.
    await waitFor("the delivery to fail", () => receiver.received.length === 5, 30_000);
    const failed = encodeURIComponent(`WebhookId="${webhook.id}" AND DeliveryOutcome="failed"`);
    await waitFor("the failed delivery listed", async () => {
      await page.goto(`${infra.temporal.uiUrl}/namespaces/default/workflows?query=${failed}`);
      const listed = await page.locator(`a:has-text("${workflowId}")`).waitFor({ timeout: 5_000 })
        .then(() => true, () => false);
      return listed && /Failed/.test(await page.innerText("main"));
    }, 30_000);
    await page.screenshot({
      path: await artifactPath("temporal-ui-4-failed.png"),
      fullPage: true,
    });
  } finally {
    await browser.close();
    await receiver.close();
  }
});

stopStackAfterTests();
