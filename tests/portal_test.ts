/**
 * Portal links: the admin token mints a single-use, short-lived link that opens the dashboard for
 * one organization, with no API key; PORTAL_FRAME_ANCESTORS lets a platform's own pages frame it,
 * PORTAL_TITLE puts the platform's name on it. The framing itself is shown in a real Chromium.
 */
import assert from "node:assert/strict";
import {
  ADMIN_TOKEN,
  api,
  client,
  createOrganization,
  createWebhook,
  type Stack,
  stack,
  stopStackAfterTests,
  test,
  waitFor,
} from "./harness.ts";
import { startReceiver } from "./receiver.ts";
import { artifactPath, launchBrowser } from "./browser.ts";
import { hashToken } from "../src/domain/secrets.ts";
import { findSession } from "../src/usecases/dashboard_sessions.ts";
import { PLATFORM_ORGANIZATION_ID } from "../src/domain/operational_events.ts";

/** Mints a portal link through the typed client, as a platform's code would. */
async function portalLink(
  s: Stack,
  organizationId: string,
  body?: { expiresIn?: number; sessionExpiresIn?: number },
) {
  const { data, error, response } = await client(s, ADMIN_TOKEN).POST(
    "/v1/organizations/{id}/portal-links",
    { params: { path: { id: organizationId } }, body },
  );
  assert.equal(response.status, 201, JSON.stringify(error));
  return data!;
}

/** Opens a link as a browser would: the answer, and the session cookie it set. */
async function open(url: string) {
  const response = await fetch(url, { redirect: "manual" });
  const html = await response.text();
  const setCookie = response.headers.get("set-cookie") ?? "";
  const session = /herald_session=([^;]+)/.exec(setCookie)?.[1];
  return { response, html, setCookie, session };
}

async function page(s: Stack, path: string, session: string) {
  const response = await fetch(`${s.apiUrl}${path}`, {
    headers: { cookie: `herald_session=${session}` },
    redirect: "manual",
  });
  return { response, html: await response.text() };
}

const tokenOf = (url: string) => new URL(url).searchParams.get("token")!;

test("a portal link opens the dashboard once and never again, for its organization alone, with no API key", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const other = await createOrganization(s);
  const own = await createWebhook(s, org.apiKey, { url: "https://127.0.0.1:9/own", name: "Own" });
  const foreign = await createWebhook(s, other.apiKey, {
    url: "https://127.0.0.1:9/foreign",
    name: "Foreign",
  });
  // The organization's keys play no part: revoked, the portal still opens.
  const keys = await s.infra.database.db.selectFrom("api_keys").select("id")
    .where("organization_id", "=", org.id).execute();
  for (const key of keys) {
    await api(s, "DELETE", `/v1/organizations/${org.id}/api-keys/${key.id}`, {
      token: ADMIN_TOKEN,
    });
  }

  const before = Date.now();
  const link = await portalLink(s, org.id);
  assert.match(link.url, new RegExp(`^${s.apiUrl}/portal\\?token=[A-Za-z0-9_-]{43}$`));
  assert.ok(link.expiresAt >= before + 600_000 && link.expiresAt <= Date.now() + 600_000);
  assert.equal(link.sessionExpiresIn, 3_600);
  // The link's token is kept as its hash only.
  const stored = await s.infra.database.db.selectFrom("portal_links").selectAll()
    .where("organization_id", "=", org.id).execute();
  assert.deepEqual(stored.map((l) => l.id_hash), [await hashToken(tokenOf(link.url))]);

  const first = await open(link.url);
  assert.equal(first.response.status, 303);
  assert.equal(first.response.headers.get("location"), "/webhooks");
  assert.ok(first.session);
  const list = await page(s, "/webhooks", first.session!);
  assert.equal(list.response.status, 200);
  assert.match(list.html, new RegExp(`data-webhook="${own.id}"`));
  assert.doesNotMatch(list.html, new RegExp(foreign.id));
  // Another organization's webhook is no page of this session's.
  const stranger = await page(s, `/webhooks/${foreign.id}`, first.session!);
  assert.doesNotMatch(stranger.html, /Foreign/);
  assert.match(stranger.html, /Webhook not found/);
  // The page says when the session ends: in an hour.
  const ends = /data-session-ends[^>]*>[\s\S]*?datetime="([^"]+)"/.exec(list.html)?.[1];
  const endsAt = Date.parse(ends ?? "");
  assert.ok(Math.abs(endsAt - (Date.now() + 3_600_000)) < 60_000, `session ends ${ends}`);

  const again = await open(link.url);
  assert.equal(again.response.status, 410);
  assert.equal(again.session, undefined);
  assert.match(again.html, /This link has expired/);
  const forged = await open(`${s.apiUrl}/portal?token=${"A".repeat(43)}`);
  assert.deepEqual([forged.response.status, forged.session], [410, undefined]);
});

test("an unused link expires; the session it opened expires when the page said", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const db = s.infra.database.db;
  const stale = await portalLink(s, org.id, { expiresIn: 10 });
  assert.ok(stale.expiresAt <= Date.now() + 10_000);
  await db.updateTable("portal_links").set({ expires_at: Date.now() - 1 })
    .where("id_hash", "=", await hashToken(tokenOf(stale.url))).execute();
  assert.equal((await open(stale.url)).response.status, 410);

  const link = await portalLink(s, org.id, { sessionExpiresIn: 120 });
  assert.equal(link.sessionExpiresIn, 120);
  const { session } = await open(link.url);
  const list = await page(s, "/webhooks", session!);
  const ends = /data-session-ends[^>]*>[\s\S]*?datetime="([^"]+)"/.exec(list.html)?.[1];
  assert.ok(Math.abs(Date.parse(ends ?? "") - (Date.now() + 120_000)) < 10_000, `ends ${ends}`);
  await db.updateTable("dashboard_sessions").set({ expires_at: Date.now() - 1 })
    .where("id_hash", "=", await hashToken(session!)).execute();
  const expired = await page(s, "/webhooks", session!);
  assert.equal(expired.response.status, 303);
  assert.match(expired.response.headers.get("location") ?? "", /^\/\?error=/);
});

test("an API key cannot create portal links (401); the platform's or an unknown organization is 404; bad bodies 422; nothing is written", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const db = s.infra.database.db;
  const count = async () =>
    (await db.selectFrom("portal_links").select("id_hash").execute()).length;
  const before = await count();
  const path = `/v1/organizations/${org.id}/portal-links`;
  for (const token of [org.apiKey, undefined, "hadm_wrong_wrong_wrong_wrong"]) {
    const answer = await api(s, "POST", path, { token, body: {} });
    assert.equal(answer.status, 401);
    assert.equal(answer.body.error.code, "unauthorized");
  }
  for (const id of [PLATFORM_ORGANIZATION_ID, "org_nope"]) {
    const answer = await api(s, "POST", `/v1/organizations/${id}/portal-links`, {
      token: ADMIN_TOKEN,
      body: {},
    });
    assert.equal(answer.status, 404, id);
  }
  for (
    const body of [{ expiresIn: 5 }, { expiresIn: 3_601 }, { sessionExpiresIn: 30 }, {
      expiresIn: "600",
    }, { extra: 1 }]
  ) {
    const answer = await api(s, "POST", path, { token: ADMIN_TOKEN, body });
    assert.equal(answer.status, 422, JSON.stringify(body));
    assert.match(answer.body.error.details[0].path, /^body/);
  }
  assert.equal(await count(), before);
  // No body at all takes the defaults.
  const plain = await api(s, "POST", path, { token: ADMIN_TOKEN });
  assert.equal(plain.status, 201, JSON.stringify(plain.body));
});

test("a portal link points where the admin reached Herald, or at the first of PUBLIC_HOSTS over HTTPS when that is not one of them", async () => {
  const s = await stack({
    PUBLIC_HOSTS: "herald.example.com, other.example.com",
    TRUST_PROXY: "true",
  });
  const org = await createOrganization(s);
  // The admin token's request named an address (which PUBLIC_HOSTS lets pass): not a public name.
  const link = await portalLink(s, org.id);
  assert.match(link.url, /^https:\/\/herald\.example\.com\/portal\?token=[A-Za-z0-9_-]{43}$/);
  // Through a trusted proxy, by one of the names: that name, and the proxy's scheme.
  for (
    const [proto, origin] of [
      ["https", "https://other.example.com"],
      ["http", "http://other.example.com"],
    ] as const
  ) {
    const named = await api(s, "POST", `/v1/organizations/${org.id}/portal-links`, {
      token: ADMIN_TOKEN,
      headers: { "x-forwarded-host": "other.example.com", "x-forwarded-proto": proto },
    });
    assert.equal(named.status, 201, JSON.stringify(named.body));
    assert.ok(named.body.url.startsWith(`${origin}/portal?token=`), named.body.url);
  }
});

test("PORTAL_TITLE puts the platform's name on the dashboard instead of Herald's", async () => {
  const s = await stack({ PORTAL_TITLE: "Acme Cloud" });
  const org = await createOrganization(s);
  const { session } = await open((await portalLink(s, org.id)).url);
  const list = await page(s, "/webhooks", session!);
  assert.match(list.html, /<title>Webhooks · Acme Cloud<\/title>/);
  assert.match(list.html, /<strong>Acme Cloud<\/strong>/);
  assert.doesNotMatch(list.html, /Herald<\/(strong|title)>/);
  const signIn = await fetch(`${s.apiUrl}/`);
  assert.match(await signIn.text(), /Sign in · Acme Cloud/);
});

test("without PORTAL_FRAME_ANCESTORS nothing may frame the dashboard; with it, only those origins, and the portal's cookie is fit for a frame", async () => {
  const closed = await stack();
  const org = await createOrganization(closed);
  const strict = await open((await portalLink(closed, org.id)).url);
  assert.match(strict.setCookie, /SameSite=Strict/i);
  const closedPage = await page(closed, "/webhooks", strict.session!);
  assert.equal(closedPage.response.headers.get("x-frame-options"), "DENY");
  assert.match(
    closedPage.response.headers.get("content-security-policy") ?? "",
    /frame-ancestors 'none'/,
  );

  const origins = "http://127.0.0.2:8000 https://app.example.com";
  const framed = await stack({ PORTAL_FRAME_ANCESTORS: origins });
  const link = await open((await portalLink(framed, org.id)).url);
  assert.match(link.setCookie, /SameSite=None/i);
  assert.match(link.setCookie, /Secure/);
  assert.match(link.setCookie, /Partitioned/);
  assert.match(link.setCookie, /HttpOnly/);
  for (const path of ["/webhooks", "/"]) {
    const answer = await page(framed, path, link.session!);
    assert.equal(answer.response.headers.get("x-frame-options"), null, path);
    assert.match(
      answer.response.headers.get("content-security-policy") ?? "",
      /frame-ancestors http:\/\/127\.0\.0\.2:8000 https:\/\/app\.example\.com;/,
    );
  }
  // The cookie now goes with requests from other sites too: the Origin check and the CSRF token
  // still refuse a form posted by the framing page itself, or one without the token.
  const csrf = csrfOf((await page(framed, "/webhooks", link.session!)).html);
  const fields = { url: "https://127.0.0.1:9/forged", name: "Forged" };
  const foreign = await fetch(`${framed.apiUrl}/webhooks`, {
    method: "POST",
    headers: { origin: "http://127.0.0.2:8000", cookie: `herald_session=${link.session}` },
    body: new URLSearchParams({ ...fields, _csrf: csrf }),
    redirect: "manual",
  });
  await foreign.body?.cancel();
  assert.equal(foreign.status, 403);
  assert.equal((await post(framed, "/webhooks", link.session!, fields)).status, 403);
  const listed = await api(framed, "GET", "/v1/webhooks", { token: org.apiKey });
  assert.ok(!listed.body.data.some((w: { name: string }) => w.name === "Forged"));
  // The API never is framed.
  const apiAnswer = await api(framed, "GET", "/v1/webhooks", { token: org.apiKey });
  assert.equal(apiAnswer.headers.get("x-frame-options"), "DENY");
  assert.match(apiAnswer.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
  // A key's session keeps its strict cookie.
  const signIn = await fetch(`${framed.apiUrl}/sign-in`, {
    method: "POST",
    headers: { origin: framed.apiUrl },
    body: new URLSearchParams({ apiKey: org.apiKey }),
    redirect: "manual",
  });
  await signIn.body?.cancel();
  assert.match(signIn.headers.get("set-cookie") ?? "", /SameSite=Strict/i);
});

/** A browser's sign-in on the dashboard's form: the answer and the session cookie. */
async function signIn(s: Stack, secret: string) {
  const response = await fetch(`${s.apiUrl}/sign-in`, {
    method: "POST",
    headers: { origin: s.apiUrl },
    body: new URLSearchParams({ apiKey: secret }),
    redirect: "manual",
  });
  await response.body?.cancel();
  const setCookie = response.headers.get("set-cookie") ?? "";
  return { response, setCookie, session: /herald_session=([^;]+)/.exec(setCookie)?.[1] };
}

/** A form post from the dashboard's own page, with the session's CSRF token. */
async function post(s: Stack, path: string, session: string, fields: Record<string, string>) {
  const response = await fetch(`${s.apiUrl}${path}`, {
    method: "POST",
    headers: { origin: s.apiUrl, cookie: `herald_session=${session}` },
    body: new URLSearchParams(fields),
    redirect: "manual",
  });
  await response.body?.cancel();
  return response;
}

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";

test("the admin token signs in to the organizations (deactivated first) and the operational webhooks, each opening the pages an organization sees", async () => {
  const s = await stack();
  const quiet = await createOrganization(s, "pro");
  const troubled = await createOrganization(s);
  await api(s, "PATCH", `/v1/organizations/${troubled.id}`, {
    token: ADMIN_TOKEN,
    body: { name: "Troubled Inc" },
  });
  const ok = await createWebhook(s, troubled.apiKey, {
    url: "https://127.0.0.1:9/a",
    name: "Fine",
  });
  const down = await createWebhook(s, troubled.apiKey, {
    url: "https://127.0.0.1:9/b",
    name: "Down",
  });
  await api(s, "POST", `/v1/webhooks/${down.id}/deactivate`, { token: troubled.apiKey });
  const ops = await api(s, "POST", "/v1/operational-webhooks", {
    token: ADMIN_TOKEN,
    body: { url: "https://127.0.0.1:9/ops", name: "Alerts" },
  });
  assert.equal(ops.status, 201, JSON.stringify(ops.body));

  // A wrong admin token is a failed sign-in like a wrong key.
  const wrong = await signIn(s, "hadm_not_the_token_at_all");
  assert.equal(wrong.session, undefined);
  assert.match(wrong.response.headers.get("location") ?? "", /^\/\?error=/);

  const admin = await signIn(s, ADMIN_TOKEN);
  assert.equal(admin.response.status, 303);
  assert.equal(admin.response.headers.get("location"), "/organizations");
  assert.match(admin.setCookie, /SameSite=Strict/i);
  assert.ok(!admin.setCookie.includes(ADMIN_TOKEN));
  const session = admin.session!;
  // With no organization open, an organization's pages send it to the list.
  const none = await page(s, "/webhooks", session);
  assert.equal(none.response.status, 303);
  assert.equal(none.response.headers.get("location"), "/organizations");

  const list = await page(s, "/organizations", session);
  assert.equal(list.response.status, 200);
  const rows = [...list.html.matchAll(/data-organization="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(rows.includes(troubled.id) && rows.includes(quiet.id), rows.join());
  assert.ok(rows.indexOf(troubled.id) < rows.indexOf(quiet.id), "deactivated ones first");
  assert.ok(!rows.includes(PLATFORM_ORGANIZATION_ID), "the platform is no customer");
  const row = new RegExp(`data-organization="${troubled.id}"[\\s\\S]*?</tr>`).exec(list.html)![0];
  assert.match(row, /Troubled Inc/);
  assert.match(row, /<td>business<\/td>/);
  assert.match(row, /data-webhooks="?[^>]*>2</);
  assert.match(row, /data-deactivated[^>]*>[\s\S]*1\s*<\/td>/);
  assert.match(list.html, new RegExp(`data-operational-webhook="${ops.body.id}"[\\s\\S]*?Alerts`));

  // Opening an organization shows its pages, as its own session would.
  const csrf = csrfOf(list.html);
  const opened = await post(s, `/organizations/${troubled.id}/open`, session, { _csrf: csrf });
  assert.equal(opened.status, 303);
  assert.equal(opened.headers.get("location"), "/webhooks");
  const theirs = await page(s, "/webhooks", session);
  assert.match(theirs.html, new RegExp(`data-webhook="${ok.id}"`));
  assert.match(theirs.html, new RegExp(`data-webhook="${down.id}"`));
  assert.match(theirs.html, /data-acting-for[^>]*>Viewing Troubled Inc/);
  assert.doesNotMatch(theirs.html, new RegExp(ops.body.id));
  // Its forms work there: the deactivated one is reactivated.
  const detail = await page(s, `/webhooks/${down.id}`, session);
  const reactivated = await post(s, `/webhooks/${down.id}/activate`, session, {
    _csrf: csrfOf(detail.html),
  });
  assert.equal(reactivated.status, 303);
  const after = await api(s, "GET", `/v1/webhooks/${down.id}`, { token: troubled.apiKey });
  assert.equal(after.body.status, "active");

  // An operational webhook opens to the same page a webhook has.
  const opsPage = await post(s, `/organizations/${PLATFORM_ORGANIZATION_ID}/open`, session, {
    _csrf: csrf,
    webhook: ops.body.id,
  });
  assert.equal(opsPage.headers.get("location"), `/webhooks/${ops.body.id}`);
  const opsHtml = (await page(s, `/webhooks/${ops.body.id}`, session)).html;
  assert.match(opsHtml, /<h1>\s*Alerts/);
  assert.match(opsHtml, /Viewing Operational webhooks/);
  // Without the CSRF token, or for an unknown organization, nothing opens.
  assert.equal((await post(s, `/organizations/${quiet.id}/open`, session, {})).status, 403);
  const unknown = await post(s, "/organizations/org_nope/open", session, { _csrf: csrf });
  assert.match(unknown.headers.get("location") ?? "", /^\/organizations\?error=/);
  assert.match((await page(s, "/webhooks", session)).html, /Viewing Operational webhooks/);

  // A key's session has no list of organizations; the admin session ends with its token.
  const key = await signIn(s, quiet.apiKey);
  const refused = await page(s, "/organizations", key.session!);
  assert.equal(refused.response.status, 303);
  assert.equal(refused.response.headers.get("location"), "/webhooks");
  const db = s.infra.database.db;
  assert.ok(await findSession(db, session, ADMIN_TOKEN));
  assert.equal(await findSession(db, session, "hadm_another_token_entirely"), undefined);
});

/** A page of the platform's own app, on another loopback origin, that frames a portal link. */
function platformPage(hostname: string) {
  let src = "about:blank";
  const server = Deno.serve({ hostname, port: 0, onListen: () => {} }, () =>
    new Response(
      `<!doctype html><html><head><title>Platform · Settings</title></head><body>
      <h1>Settings › Developer › Webhooks</h1>
      <iframe src="${src}" width="1100" height="800" title="Webhooks"></iframe></body></html>`,
      { headers: { "content-type": "text/html; charset=utf-8" } },
    ));
  return {
    origin: `http://${hostname}:${server.addr.port}`,
    frame: (url: string) => (src = url),
    close: () => server.shutdown(),
  };
}

test("Chromium: a page on another origin frames the portal opened by a link; the list shows and a form inside works; without the setting the frame is refused", async () => {
  // Another site altogether (127.0.0.2 against Herald's 127.0.0.1): the cookie has to be fit for it.
  const platform = platformPage("127.0.0.2");
  const s = await stack({ PORTAL_FRAME_ANCESTORS: platform.origin, PORTAL_TITLE: "Acme Cloud" });
  const closed = await stack();
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  const existing = await createWebhook(s, org.apiKey, { url: receiver.url, name: "Orders" });
  const browser = await launchBrowser();
  try {
    const tab = await browser.newPage();
    platform.frame((await portalLink(s, org.id)).url);
    await tab.goto(`${platform.origin}/`);
    const frame = tab.frameLocator("iframe");
    await frame.locator(`tr[data-webhook='${existing.id}']`).waitFor();
    assert.equal(await frame.locator("header strong").textContent(), "Acme Cloud");
    assert.match(await frame.locator("[data-session-ends]").textContent() ?? "", /Session ends/);
    await tab.screenshot({ path: await artifactPath("portal-framed-list.png"), fullPage: true });

    // A form inside the frame: its post carries the session's cookie, its CSRF token and
    // Herald's own Origin.
    await frame.locator("input[name=url]").fill(receiver.url);
    await frame.locator("input[name=name]").fill("Made in the frame");
    await frame.locator("form[action='/webhooks'] button[type=submit]").click();
    await frame.locator("[data-secret]").waitFor();
    assert.match(await frame.locator("h1").textContent() ?? "", /Made in the frame/);
    const made = await api(s, "GET", "/v1/webhooks", { token: org.apiKey });
    assert.ok(made.body.data.some((w: { name: string }) => w.name === "Made in the frame"));
    await tab.screenshot({ path: await artifactPath("portal-framed.png"), fullPage: true });

    // The same page framing a Herald without PORTAL_FRAME_ANCESTORS: the browser refuses it.
    const refusals: string[] = [];
    const refused = await browser.newPage();
    refused.on("console", (m) => refusals.push(m.text()));
    platform.frame((await portalLink(closed, org.id)).url);
    await refused.goto(`${platform.origin}/`);
    await waitFor(
      "the browser's refusal",
      () => refusals.some((m) => /frame-ancestors|X-Frame-Options/.test(m)),
      10_000,
    );
    const inner = refused.frames().find((f) => f !== refused.mainFrame());
    assert.equal(await inner?.locator("tr[data-webhook]").count() ?? 0, 0);
    await refused.screenshot({ path: await artifactPath("portal-frame-refused.png") });
  } finally {
    await browser.close();
    await receiver.close();
    await platform.close();
  }
});

test("Chromium: the admin token signs in to the organizations and opens one's pages", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  await api(s, "PATCH", `/v1/organizations/${org.id}`, {
    token: ADMIN_TOKEN,
    body: { name: "Browser Customer" },
  });
  const webhook = await createWebhook(s, org.apiKey, {
    url: "https://127.0.0.1:9/browser",
    name: "Customer hook",
  });
  await api(s, "POST", `/v1/webhooks/${webhook.id}/deactivate`, { token: org.apiKey });
  const browser = await launchBrowser();
  try {
    const tab = await browser.newPage();
    await tab.goto(`${s.apiUrl}/`);
    await tab.fill("input[name=apiKey]", ADMIN_TOKEN);
    await tab.click("button[type=submit]");
    await tab.waitForURL("**/organizations");
    // Deactivated ones first: this organization is above every one without a deactivated webhook.
    const first = tab.locator("#organizations tbody tr").first();
    const deactivated = /(\d+)\s*$/.exec(
      await first.locator("[data-deactivated]").textContent() ?? "",
    );
    assert.ok(Number(deactivated?.[1]) >= 1, `the first row: ${await first.textContent()}`);
    await tab.screenshot({
      path: await artifactPath("platform-organizations.png"),
      fullPage: true,
    });
    await tab.locator(`tr[data-organization='${org.id}'] button`).click();
    await tab.waitForURL("**/webhooks");
    await tab.locator(`tr[data-webhook='${webhook.id}']`).waitFor();
    assert.match(await tab.textContent("[data-acting-for]") ?? "", /Browser Customer/);
    await tab.click("text=Organizations");
    await tab.waitForURL("**/organizations");
  } finally {
    await browser.close();
  }
});

stopStackAfterTests();
