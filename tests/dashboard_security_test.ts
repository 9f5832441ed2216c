/**
 * The dashboard against a hostile browser or page: server-side sessions, CSRF tokens and origin
 * checks, ids in paths, framing, cookies behind a TLS proxy, and keys that are not keys.
 */
import assert from "node:assert/strict";
import {
  api,
  createOrganization,
  createWebhook,
  type Stack,
  stack,
  stopStackAfterTests,
  test,
} from "./harness.ts";
import { hashToken } from "../src/domain/secrets.ts";

// An address literal: saving it needs no lookup, and nothing is ever sent to it.
const RECEIVER = "https://127.0.0.1:9/in";

/** A browser's sign-in: the session cookie's value, from Set-Cookie. */
async function signIn(s: Stack, apiKey: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${s.apiUrl}/sign-in`, {
    method: "POST",
    headers: { origin: s.apiUrl, ...headers },
    body: new URLSearchParams({ apiKey }),
    redirect: "manual",
  });
  await response.body?.cancel();
  const setCookie = response.headers.get("set-cookie") ?? "";
  const session = /herald_session=([^;]*)/.exec(setCookie)?.[1];
  return { response, setCookie, session };
}

/** A page as a signed-in browser gets it. */
async function page(s: Stack, path: string, session: string) {
  const response = await fetch(`${s.apiUrl}${path}`, {
    headers: { cookie: `herald_session=${session}` },
    redirect: "manual",
  });
  return { response, html: await response.text() };
}

/** A form post as a browser sends it; `origin` and `csrf` are what the test makes of them. */
async function post(
  s: Stack,
  path: string,
  session: string,
  form: { csrf?: string; origin?: string | null; fields?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { cookie: `herald_session=${session}` };
  if (form.origin !== null) headers.origin = form.origin ?? s.apiUrl;
  const body = new URLSearchParams(form.fields ?? {});
  if (form.csrf !== undefined) body.set("_csrf", form.csrf);
  const response = await fetch(`${s.apiUrl}${path}`, {
    method: "POST",
    headers,
    body,
    redirect: "manual",
  });
  await response.body?.cancel();
  return response;
}

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1];

test("the session cookie is a random id, kept only as a hash, never the API key", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const { response, setCookie, session } = await signIn(s, org.apiKey);
  assert.equal(response.status, 303);
  assert.ok(session, `a session cookie: ${setCookie}`);
  assert.notEqual(session, org.apiKey);
  assert.ok(!setCookie.includes(org.apiKey), "the key is not in the cookie");
  assert.match(setCookie, /HttpOnly/i);
  assert.match(setCookie, /SameSite=Strict/i);
  assert.match(setCookie, /Expires=/i, "the session expires");
  const rows = await s.infra.database.db.selectFrom("dashboard_sessions").selectAll().execute();
  const hashed = await hashToken(session);
  assert.ok(rows.some((row) => row.id_hash === hashed), "the table keeps the id's hash");
  assert.ok(!JSON.stringify(rows).includes(session), "and never the id itself");
  assert.equal((await page(s, "/webhooks", session)).response.status, 200);
});

test("a form without the session's CSRF token, or from another origin, changes nothing", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const webhook = await createWebhook(s, org.apiKey, { url: RECEIVER });
  const { session } = await signIn(s, org.apiKey);
  assert.ok(session);
  const { html } = await page(s, "/webhooks", session);
  const csrf = csrfOf(html);
  assert.ok(csrf, "every form carries a CSRF token");
  const path = `/webhooks/${webhook.id}/deactivate`;

  const refusals = [
    { what: "no token", form: {} },
    { what: "a wrong token", form: { csrf: "0".repeat(64) } },
    { what: "another site", form: { csrf, origin: "https://attacker.example.test" } },
    { what: "another port of the same host", form: { csrf, origin: "http://127.0.0.1:1" } },
    { what: "no origin and no referer", form: { csrf, origin: null } },
  ];
  for (const { what, form } of refusals) {
    const response = await post(s, path, session, form);
    assert.equal(response.status, 403, what);
  }
  const still = await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey });
  assert.equal(still.body.status, "active", "nothing was deactivated");

  const allowed = await post(s, path, session, { csrf });
  assert.equal(allowed.status, 303);
  const now = await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey });
  assert.equal(now.body.status, "deactivated", "the page's own form works");
});

test("a sign-in posted from another origin is refused", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const { response, session } = await signIn(s, org.apiKey, {
    origin: "https://attacker.example.test",
  });
  assert.equal(response.status, 403);
  assert.equal(session, undefined);
});

test("ids in dashboard paths are ids: an encoded path cannot reach another API route", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const contact = await api(s, "POST", "/v1/contacts", {
    token: org.apiKey,
    body: { fields: { email: "kept@example.com" } },
  });
  assert.equal(contact.status, 201);
  const { session } = await signIn(s, org.apiKey);
  assert.ok(session);
  const csrf = csrfOf((await page(s, "/webhooks", session)).html)!;
  for (const path of [`/webhooks/..%2Fcontacts%2F${contact.body.id}/delete`]) {
    const response = await post(s, path, session, { csrf });
    assert.equal(response.status, 404, path);
  }
  const viewed = await page(s, `/webhooks/..%2Fcontacts%2F${contact.body.id}`, session);
  assert.equal(viewed.response.status, 404);
  const still = await api(s, "GET", `/v1/contacts/${contact.body.id}`, { token: org.apiKey });
  assert.equal(still.status, 200, "the contact was not deleted");
});

test("dashboard pages cannot be framed and carry a Content-Security-Policy", async () => {
  const s = await stack();
  const signInPage = await fetch(`${s.apiUrl}/`);
  await signInPage.body?.cancel();
  const csp = signInPage.headers.get("content-security-policy") ?? "";
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(csp, /default-src 'none'/);
  assert.doesNotMatch(csp, /script-src/, "the dashboard runs no script");
  assert.equal(signInPage.headers.get("x-frame-options"), "DENY");
  assert.equal(signInPage.headers.get("x-content-type-options"), "nosniff");
  const css = await fetch(`${s.apiUrl}/assets/dashboard.css`);
  assert.match(css.headers.get("content-type") ?? "", /text\/css/);
  assert.match(await css.text(), /font-family/);
});

test("cookies are Secure behind a TLS proxy only when the proxy is trusted", async () => {
  const plain = await stack();
  const org = await createOrganization(plain);
  const untrusted = await signIn(plain, org.apiKey, { "x-forwarded-proto": "https" });
  assert.ok(untrusted.session);
  assert.doesNotMatch(untrusted.setCookie, /Secure/i, "X-Forwarded-Proto is not believed");

  const proxied = await stack({ TRUST_PROXY: "true" });
  const org2 = await createOrganization(proxied);
  const trusted = await signIn(proxied, org2.apiKey, {
    "x-forwarded-proto": "https",
    "x-forwarded-host": "herald.example.test",
    origin: "https://herald.example.test",
  });
  assert.ok(trusted.session);
  assert.match(trusted.setCookie, /Secure/i);
});

test("a bad, expired or revoked session goes to the sign-in page, once", async () => {
  const s = await stack();
  const org = await createOrganization(s);

  const bogus = await page(s, "/webhooks", "x".repeat(43));
  assert.equal(bogus.response.status, 303);
  assert.match(bogus.response.headers.get("location") ?? "", /^\/\?error=/);
  assert.match(bogus.response.headers.get("set-cookie") ?? "", /herald_session=;/);
  // The sign-in page itself never sends a bad session anywhere: no redirect loop.
  const home = await page(s, "/", "x".repeat(43));
  assert.equal(home.response.status, 200);
  assert.match(home.html, /Sign in/);

  const expired = (await signIn(s, org.apiKey)).session!;
  await s.infra.database.db.updateTable("dashboard_sessions").set({ expires_at: Date.now() - 1 })
    .where("id_hash", "=", await hashToken(expired)).execute();
  assert.equal((await page(s, "/webhooks", expired)).response.status, 303);

  const live = (await signIn(s, org.apiKey)).session!;
  assert.equal((await page(s, "/webhooks", live)).response.status, 200);
  const keys = await s.infra.database.db.selectFrom("api_keys").select("id")
    .where("organization_id", "=", org.id).execute();
  for (const key of keys) {
    const revoked = await api(s, "DELETE", `/v1/organizations/${org.id}/api-keys/${key.id}`, {
      token: "hadm_test_admin_token_0123456789",
    });
    assert.equal(revoked.status, 204);
  }
  assert.equal((await page(s, "/webhooks", live)).response.status, 303, "revoking ends it");

  const signedOut = (await signIn(s, (await createOrganization(s)).apiKey)).session!;
  const csrf = csrfOf((await page(s, "/webhooks", signedOut)).html)!;
  assert.equal((await post(s, "/sign-out", signedOut, { csrf })).status, 303);
  assert.equal((await page(s, "/webhooks", signedOut)).response.status, 303, "sign-out ends it");
});

test("a key with CR/LF, NUL or characters outside Latin-1 is not accepted, and answers no 500", async () => {
  const s = await stack();
  for (const apiKey of ["hk_abc\r\nx-injected: 1", "hk_\u0000", "hk_ключ", "hk_😀", " ", ""]) {
    const { response, session } = await signIn(s, apiKey);
    assert.equal(response.status, 303, JSON.stringify(apiKey));
    assert.match(response.headers.get("location") ?? "", /not\+accepted|not%20accepted/);
    assert.equal(session, undefined);
  }
});

stopStackAfterTests();
