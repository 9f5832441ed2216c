/**
 * The dashboard and `/docs` as anyone can use them: axe-core finds no serious or critical
 * violation on any page, light or dark, at 375 px or 1280 px wide; nothing runs off a phone's
 * screen; every control is reached by the keyboard and shows its focus; destructive actions ask
 * first; the charts have labelled axes and their numbers as a table.
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import {
  ADMIN_TOKEN,
  api,
  createOrganization,
  createWebhook,
  type Stack,
  stack,
  stopStackAfterTests,
  test,
  waitFor,
} from "./harness.ts";
import { startReceiver } from "./receiver.ts";
import { artifactPath, launchBrowser, seriousViolations } from "./browser.ts";

const FAILING_FAST = { DELIVERY_RETRY_INTERVAL: "200ms", DELIVERY_MAX_ATTEMPTS: "2" };
const WIDTHS = [375, 1280] as const;
const SCHEMES = ["light", "dark"] as const;

/** An organization with a webhook that delivered and one that failed, and the ids to open. */
interface Scene {
  s: Stack;
  apiKey: string;
  webhookId: string;
  deliveredId: string;
  failedId: string;
}

let scene: Promise<Scene> | undefined;

/** Makes the scene once: deliveries of every outcome the pages show. */
function theScene(): Promise<Scene> {
  scene ??= (async () => {
    const s = await stack(FAILING_FAST);
    const org = await createOrganization(s);
    const good = await startReceiver();
    const bad = await startReceiver(() => new Response("not today", { status: 500 }));
    const webhook = await createWebhook(s, org.apiKey, {
      url: good.url,
      name: "Orders",
      eventTypes: ["order.*", "contact.*"],
      headers: { "x-team": "billing" },
    });
    const failing = await createWebhook(s, org.apiKey, { url: bad.url, name: "Flaky" });
    for (let i = 0; i < 3; i++) {
      await api(s, "POST", "/v1/events", {
        token: org.apiKey,
        body: { event: "order.paid", object: "order", objectId: `ord_${i}`, data: { amount: i } },
      });
    }
    const list = await waitFor("three delivered payloads", async () => {
      const answer = await api(s, "GET", `/v1/webhooks/${webhook.id}/payloads?status=delivered`, {
        token: org.apiKey,
      });
      return answer.body.data.length === 3 && answer.body.data;
    });
    const failed = await waitFor("a failed payload", async () => {
      const answer = await api(s, "GET", `/v1/webhooks/${failing.id}/payloads?status=failed`, {
        token: org.apiKey,
      });
      return answer.body.data[0];
    });
    await waitFor(
      "the failing webhook deactivated",
      async () =>
        (await api(s, "GET", `/v1/webhooks/${failing.id}`, { token: org.apiKey })).body.status ===
          "deactivated",
    );
    return {
      s,
      apiKey: org.apiKey,
      webhookId: webhook.id,
      deliveredId: list[0].id,
      failedId: failed.id,
    };
  })();
  return scene;
}

/** A page of a browser context of this width and colour scheme, signed in when given a key. */
async function openPage(
  browser: Browser,
  s: Stack,
  width: number,
  colorScheme: "light" | "dark",
  apiKey?: string,
): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height: 800 }, colorScheme });
  const page = await context.newPage();
  if (apiKey) {
    await page.goto(`${s.apiUrl}/`);
    await page.fill("input[name=apiKey]", apiKey);
    await page.click("button[type=submit]");
    await page.waitForURL(apiKey === ADMIN_TOKEN ? "**/organizations" : "**/webhooks");
  }
  return page;
}

/** What part of the page reaches past the viewport's right edge, if any. */
async function overflow(page: Page): Promise<string | undefined> {
  return await page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    const { document } = globalThis as any;
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return undefined;
    // deno-lint-ignore no-explicit-any
    const wide = [...document.querySelectorAll("main *")].find((e: any) =>
      e.getBoundingClientRect().right > width + 1
    );
    return `${document.documentElement.scrollWidth} px wide in ${width}: ${
      wide ? `${wide.tagName.toLowerCase()}.${wide.className}` : "?"
    }`;
  });
}

test("accessibility: axe-core finds nothing serious on any dashboard page or /docs, light and dark, 375 and 1280 px wide", async () => {
  const { s, apiKey, webhookId, deliveredId, failedId } = await theScene();
  const pages = [
    { name: "sign-in", path: "/", signedIn: false },
    { name: "webhook list", path: "/webhooks", signedIn: true },
    { name: "webhook page", path: `/webhooks/${webhookId}`, signedIn: true },
    { name: "delivered payload", path: `/payloads/${deliveredId}`, signedIn: true },
    { name: "failed payload", path: `/payloads/${failedId}`, signedIn: true },
    { name: "API docs", path: "/docs", signedIn: false },
    { name: "the platform's organizations", path: "/organizations", signedIn: "admin" },
  ];
  const browser = await launchBrowser();
  const found: string[] = [];
  try {
    for (const width of WIDTHS) {
      for (const scheme of SCHEMES) {
        const page = await openPage(browser, s, width, scheme, apiKey);
        for (const { name, path, signedIn } of pages) {
          const target = signedIn === true ? page : await openPage(
            browser,
            s,
            width,
            scheme,
            signedIn === "admin" ? ADMIN_TOKEN : undefined,
          );
          await target.goto(`${s.apiUrl}${path}`);
          if (path === "/docs") {
            await target.waitForSelector(".opblock-summary-path[data-path='/v1/webhooks']");
          }
          const where = `${name} (${path}) at ${width} px, ${scheme}`;
          for (const v of await seriousViolations(target)) {
            found.push(`${where}: ${v.id} (${v.impact}) ${v.help}: ${v.targets.join(" | ")}`);
          }
          const wide = width === 375 ? await overflow(target) : undefined;
          if (wide) found.push(`${where}: runs off the screen: ${wide}`);
          if (path === `/webhooks/${webhookId}`) {
            await target.screenshot({
              path: await artifactPath(`webhook-page-${width}-${scheme}.png`),
              fullPage: true,
            });
          }
          if (target !== page) await target.context().close();
        }
        await page.context().close();
      }
    }
  } finally {
    await browser.close();
  }
  assert.deepEqual(found, [], found.join("\n"));
});

test("accessibility: Tab reaches every control of the webhook page, each showing its focus; a deactivation by keyboard asks first", async () => {
  const { s, apiKey } = await theScene();
  const receiver = await startReceiver();
  const webhook = await createWebhook(s, apiKey, { url: receiver.url, name: "Keyboard" });
  const browser = await launchBrowser();
  try {
    const page = await openPage(browser, s, 1280, "light", apiKey);
    await page.goto(`${s.apiUrl}/webhooks/${webhook.id}`);
    // Every control a pointer could use, as the page shows it (a closed panel's are hidden).
    const controls = await page.evaluate(() => {
      // deno-lint-ignore no-explicit-any
      const { document } = globalThis as any;
      const selector = "a[href], button, input:not([type=hidden]), select, textarea, summary, " +
        "[tabindex='0']";
      // deno-lint-ignore no-explicit-any
      const all = [...document.querySelectorAll(selector)] as any[];
      all.forEach((e, i) => e.setAttribute("data-control", String(i)));
      // checkVisibility: a closed <details> keeps its content's boxes, hidden by content-visibility.
      return all.filter((e) => e.checkVisibility()).map((e) =>
        `${e.getAttribute("data-control")} ${e.tagName.toLowerCase()} ${
          (e.textContent || e.name || "").trim().slice(0, 30)
        }`
      );
    });
    assert.ok(controls.length >= 15, `only ${controls.length} controls`);
    const reached = new Set<string>();
    const unmarked: string[] = [];
    // A date and time field takes one Tab per part, so go on until every control was reached.
    for (let i = 0; i < controls.length * 3 && reached.size < controls.length; i++) {
      await page.keyboard.press("Tab");
      const focused = await page.evaluate(() => {
        // deno-lint-ignore no-explicit-any
        const { document, getComputedStyle } = globalThis as any;
        const e = document.activeElement;
        const style = getComputedStyle(e);
        return {
          id: e.getAttribute("data-control"),
          what: `${e.tagName.toLowerCase()} "${
            (e.textContent || e.name || "").trim().slice(0, 40)
          }"`,
          // Past the last control, focus leaves the page: nothing of the page has it.
          onPage: e.matches(":focus"),
          outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
        };
      });
      if (focused.id === null || !focused.onPage) continue;
      reached.add(focused.id);
      if (!focused.outline) unmarked.push(focused.what);
    }
    const missed = controls.filter((c) => !reached.has(c.split(" ")[0]!));
    assert.deepEqual(missed, [], "controls Tab never reached");
    assert.deepEqual(unmarked, [], "controls focused without a visible outline");

    // Deactivate by keyboard: the first Enter only opens the confirmation.
    await page.focus("summary:text('Deactivate…')");
    await page.keyboard.press("Enter");
    const confirm = page.locator("button:text('Deactivate this webhook')");
    assert.ok(await confirm.isVisible(), "the confirmation opens");
    const still = await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: apiKey });
    assert.equal(still.body.status, "active", "opening the confirmation changes nothing");
    await page.keyboard.press("Tab");
    assert.equal(
      await page.evaluate("document.activeElement.textContent"),
      "Deactivate this webhook",
    );
    await page.keyboard.press("Enter");
    await page.waitForURL("**?notice=*");
    const after = await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: apiKey });
    assert.equal(after.body.status, "deactivated");
    assert.equal(after.body.deactivationReason, "manual");
  } finally {
    await browser.close();
    await receiver.close();
  }
});

test("accessibility: the charts have labelled axes, a summary for screen readers and their numbers as a table", async () => {
  const { s, apiKey, webhookId } = await theScene();
  const browser = await launchBrowser();
  try {
    const page = await openPage(browser, s, 1280, "light", apiKey);
    await page.goto(`${s.apiUrl}/webhooks/${webhookId}`);
    const deliveries = page.locator("svg[data-chart=deliveries]");
    assert.match(await deliveries.getAttribute("aria-label") ?? "", /3 delivered, 0 failed/);
    const titles = await page.locator("svg.chart text.axis-title").allTextContents();
    assert.deepEqual(titles, ["Hour (UTC)", "Payloads", "Hour (UTC)", "Latency (ms)"]);
    await page.click("summary:text('Payloads per hour as a table')");
    const rows = page.locator("details.chart-data[open] tbody tr");
    assert.equal(await rows.count(), 24, "one row per hour");
    const delivered = await rows.evaluateAll((trs) =>
      trs.reduce((n, tr) => n + Number(tr.children[1]?.textContent), 0)
    );
    assert.equal(delivered, 3, "the table counts what the chart shows");
  } finally {
    await browser.close();
  }
});

stopStackAfterTests();
