/**
 * The second round of attacks, and what must hold: the failed-authentication throttle never
 * refuses a valid credential (directly or behind a proxy) and cannot be overshot; no IPv6 form of
 * an IPv4 address, nor any reserved IPv6 range, is reached; a cursor's decoded text crosses the
 * input rule; a name that cannot round-trip (`__proto__`) is refused, never dropped; Herald's own
 * event names are Herald's; with PUBLIC_HOSTS, a rebinding name reads nothing that needs no token;
 * retention never deletes a payload a resend holds; on a plain-http webhook the egress proxy's own
 * refusals are Herald's, and the largest head the API allows gets through it.
 */
import assert from "node:assert/strict";
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
import { blockedAddress, MAX_URL_LENGTH } from "../src/domain/url_policy.ts";
import {
  MAX_HEADER_NAME_LENGTH,
  MAX_HEADER_VALUE_LENGTH,
  MAX_HEADERS,
} from "../src/domain/webhook_headers.ts";
import { encodeBase64Url } from "../src/domain/base64.ts";
import { deleteExpiredRows } from "../src/usecases/retention.ts";
import { withinMs } from "../src/deadline.ts";
import { startReceiver } from "./receiver.ts";

/** Signs in to the dashboard with a key; the redirect's target says how it went. */
async function signIn(s: Stack, apiKey: string, headers: Record<string, string> = {}) {
  const answer = await fetch(`${s.apiUrl}/sign-in`, {
    method: "POST",
    headers: { origin: s.apiUrl, ...headers },
    body: new URLSearchParams({ apiKey }),
    redirect: "manual",
  });
  await answer.body?.cancel();
  return answer.headers.get("location") ?? "";
}

test("600 bad keys from one address, then the right key from that address: 200, and sign-in works", async () => {
  const s = await stack({ AUTH_FAILURE_LIMIT: "20" });
  const org = await createOrganization(s);
  const statuses = new Map<number, number>();
  for (let i = 0; i < 600; i++) {
    const bad = await api(s, "GET", "/v1/webhooks", { token: `hk_guess_${i}` });
    statuses.set(bad.status, (statuses.get(bad.status) ?? 0) + 1);
  }
  assert.equal(statuses.get(401), 20, JSON.stringify([...statuses]));
  assert.equal(statuses.get(429), 580);
  for (let i = 0; i < 20; i++) {
    assert.equal((await api(s, "GET", "/v1/webhooks", { token: org.apiKey })).status, 200);
  }
  assert.equal(
    (await api(s, "GET", `/v1/organizations/${org.id}`, { token: ADMIN_TOKEN })).status,
    200,
  );
  assert.equal(await signIn(s, org.apiKey), "/webhooks");
  // The guesser itself is still throttled, through the API and through sign-in.
  assert.equal((await api(s, "GET", "/v1/webhooks", { token: "hk_guess_more" })).status, 429);
  assert.match(decodeURIComponent(await signIn(s, "hk_guess_more")), /Too many failed sign-ins/);
});

test("behind a proxy (TRUST_PROXY) failures count per client, by the right-most X-Forwarded-For address", async () => {
  const s = await stack({ AUTH_FAILURE_LIMIT: "20", TRUST_PROXY: "true" });
  const org = await createOrganization(s);
  // Every request reaches Herald from the proxy's address (127.0.0.1); the proxy appends the
  // client's address, after whatever the client sent itself.
  const from = (client: string, spoofed?: string) => ({
    "x-forwarded-for": spoofed ? `${spoofed}, ${client}` : client,
  });
  const attacker = "198.51.100.7";
  for (let i = 0; i < 600; i++) {
    // A new left-most address each time: the client writes it, so it does not count.
    const spoofed = `203.0.113.${i % 250}`;
    await api(s, "GET", "/v1/webhooks", {
      token: `hk_guess_${i}`,
      headers: from(attacker, spoofed),
    });
  }
  const throttled = await api(s, "GET", "/v1/webhooks", {
    token: "hk_guess_again",
    headers: from(attacker),
  });
  assert.equal(throttled.status, 429);
  assert.equal(throttled.body.error.code, "too_many_failures");
  // The right key from the attacker's own address, and from another client, answers 200.
  for (const client of [attacker, "198.51.100.8"]) {
    const ok = await api(s, "GET", "/v1/webhooks", { token: org.apiKey, headers: from(client) });
    assert.equal(ok.status, 200, client);
  }
  // Another client's mistake is its own: 401, not 429.
  const other = await api(s, "GET", "/v1/webhooks", {
    token: "hk_typo",
    headers: from("198.51.100.9"),
  });
  assert.equal(other.status, 401);
  // Dashboard sign-in through the proxy: the right key signs in, the attacker's guess is throttled.
  assert.equal(await signIn(s, org.apiKey, from(attacker)), "/webhooks");
  assert.match(
    decodeURIComponent(await signIn(s, "hk_guess_more", from(attacker))),
    /Too many failed sign-ins/,
  );
  assert.match(
    decodeURIComponent(await signIn(s, "hk_typo_two", from("198.51.100.10"))),
    /was not accepted/,
  );
  // Addresses of one IPv6 /64 count together: a subscriber cannot rotate its way past the limit.
  const v6 = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      api(s, "GET", "/v1/webhooks", {
        token: `hk_v6_${i}`,
        headers: from(`2001:db8:1:2::${(i + 1).toString(16)}`),
      })),
  );
  assert.equal(v6.filter((a) => a.status === 401).length, 20);
});

test("concurrent bad tries cannot overshoot the limit", async () => {
  const s = await stack({ AUTH_FAILURE_LIMIT: "10" });
  const answers = await Promise.all(
    Array.from(
      { length: 40 },
      (_, i) => api(s, "GET", "/v1/webhooks", { token: `hk_concurrent_${i}` }),
    ),
  );
  const checked = answers.filter((a) => a.status === 401).length;
  assert.equal(checked, 10, `${checked} bad tries were checked, not 10`);
  assert.equal(answers.filter((a) => a.status === 429).length, 30);
});

Deno.test("IPv4-compatible IPv6 (::/96) and every reserved IPv6 range are refused; global unicast is not", () => {
  const refused: Array<[string, RegExp]> = [
    // ipaddr.js reads the dotted spelling as IPv4-mapped; the URL parser writes it in hex.
    ["::127.0.0.1", /IPv4-(compatible|mapped)/],
    ["::7f00:1", /IPv4-compatible/],
    ["::10.0.0.1", /IPv4-(compatible|mapped)/],
    ["::a00:1", /IPv4-compatible/],
    ["::169.254.169.254", /IPv4-(compatible|mapped)/],
    ["::a9fe:a9fe", /IPv4-compatible/],
    ["::808:808", /IPv4-compatible/],
    ["::2", /IPv4-compatible/],
    ["100:0:0:1::1", /dummy/],
    ["2001:db8::1", /reserved|documentation/],
    ["3fff::1", /reserved|documentation/],
    ["5f00::1", /segment routing/],
    ["2620:4f:8000::1", /AS112/],
    ["2001:1::1", /reserved|IETF/],
    ["2001:10::1", /ORCHID/],
    ["2001:30::1", /drone/],
    // Outside 2000::/3, IANA reserves everything that is not special already.
    ["1::1", /reserved/],
    ["4000::1", /reserved/],
    ["e000::1", /reserved/],
    ["fe00::1", /reserved/],
  ];
  for (const [address, label] of refused) {
    assert.match(blockedAddress(address) ?? "allowed", label, address);
  }
  for (const address of ["2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "2001:4860::8888"]) {
    assert.equal(blockedAddress(address), undefined, address);
  }
});

test("a webhook URL on an IPv4-compatible IPv6 literal is refused at save time", async () => {
  const s = await stack({ ALLOW_PRIVATE_NETWORKS: "false" });
  const org = await createOrganization(s);
  for (const host of ["[::127.0.0.1]", "[::10.0.0.1]", "[::169.254.169.254]", "[::a9fe:a9fe]"]) {
    const answer = await api(s, "POST", "/v1/webhooks", {
      token: org.apiKey,
      body: { url: `https://${host}/hooks` },
    });
    assert.equal(answer.status, 422, host);
    assert.equal(answer.body.error.code, "invalid_url");
    assert.match(answer.body.error.details[0].message, /IPv4-compatible/, host);
  }
});

test("the egress proxy refuses a name that resolves to an IPv4-compatible address, before connecting", async () => {
  // Public when the webhook is saved, ::7f00:1 (::127.0.0.1) when the attempt resolves it.
  let lookups = 0;
  const resolve = () => Promise.resolve([lookups++ === 0 ? "2606:4700:4700::1111" : "::7f00:1"]);
  const s = await stack({ ALLOW_PRIVATE_NETWORKS: "false", DELIVERY_MAX_ATTEMPTS: "1" }, {
    resolve,
  });
  const org = await createOrganization(s);
  await createWebhook(s, org.apiKey, { url: "https://compat.herald.test/hooks" });
  const published = await api(s, "POST", "/v1/events", {
    token: org.apiKey,
    body: { event: "egress.probe", object: "probe", data: {} },
  });
  const payloadId = published.body.payloads[0].id;
  const final = await waitFor("the refused attempt", async () => {
    const p = (await api(s, "GET", `/v1/payloads/${payloadId}`, { token: org.apiKey })).body;
    return p.status === "failed" && p;
  });
  assert.equal(final.attemptLog[0].responseStatus, null);
  assert.match(
    final.attemptLog[0].error,
    /^Refused: the URL must not resolve to a IPv4-compatible address \(compat\.herald\.test → ::7f00:1\)/,
  );
});

test("a cursor that decodes to a NUL, a lone surrogate or a control character answers 422, not 500", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const webhook = await createWebhook(s, org.apiKey, { url: "https://example.com/hooks" });
  // Cursors are base64url JSON: the raw query is clean, the text inside is not.
  const cursor = (json: string) => encodeBase64Url(new TextEncoder().encode(json));
  const timeCursors = ['[1, "wh_\\u0000x"]', '[1, "wh_\\ud800"]', '[1, "wh_\\u001b[31m"]'];
  const nameCursors = ['{"after": "a\\u0000"}', '{"after": "\\udfff"}', '{"after": "a\\u0007"}'];
  const requests = [
    ...timeCursors.map((json) => `/v1/webhooks?cursor=${cursor(json)}`),
    ...timeCursors.map((json) => `/v1/webhooks/${webhook.id}/payloads?cursor=${cursor(json)}`),
    ...nameCursors.map((json) => `/v1/event-types?cursor=${cursor(json)}`),
  ];
  for (const path of requests) {
    const answer = await api(s, "GET", path, { token: org.apiKey });
    assert.equal(answer.status, 422, `${path}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.error.code, "validation_failed");
    assert.equal(answer.body.error.details[0].path, "query.cursor");
  }
});

test("a header named __proto__, in any case, is refused with 422 rather than dropped", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const webhook = await createWebhook(s, org.apiKey, {
    url: "https://example.com/hooks",
    headers: { "x-kept": "yes" },
  });
  const count = async () =>
    (await s.infra.database.db.selectFrom("webhooks").select("id")
      .where("organization_id", "=", org.id).execute()).length;
  const before = await count();
  // Raw JSON: a JavaScript object literal would take "__proto__" as its prototype.
  const raw = (text: string) => ({
    token: org.apiKey,
    raw: text,
    headers: { "content-type": "application/json" },
  });
  const refused = [
    api(
      s,
      "POST",
      "/v1/webhooks",
      raw('{"url": "https://example.com/a", "headers": {"__proto__": "x"}}'),
    ),
    api(
      s,
      "POST",
      "/v1/webhooks",
      raw('{"url": "https://example.com/b", "headers": {"__PROTO__": "x"}}'),
    ),
    api(s, "PATCH", `/v1/webhooks/${webhook.id}`, raw('{"headers": {"__proto__": "x"}}')),
    api(s, "PATCH", `/v1/webhooks/${webhook.id}`, raw('{"headers": {"__Proto__": "x"}}')),
    api(
      s,
      "POST",
      "/v1/events",
      raw('{"event": "a.b", "object": "o", "data": {"__proto__": {"admin": true}}}'),
    ),
  ];
  for (const answer of await Promise.all(refused)) {
    assert.equal(answer.status, 422, JSON.stringify(answer.body));
    assert.equal(answer.body.error.code, "validation_failed");
    assert.match(answer.body.error.details[0].message, /__proto__/);
  }
  assert.equal(await count(), before);
  const kept = (await api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: org.apiKey })).body;
  assert.deepEqual(Object.keys(kept.headers), ["x-kept"]);
});

test("an organization cannot publish Herald's own events (contact.*, webhook.*, payload.*): 422 reserved_event_name", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  await createWebhook(s, org.apiKey, { url: "https://example.com/hooks" });
  const before = await snapshot(s);
  for (
    const event of [
      "contact.created",
      "contact.updated",
      "contact.deleted",
      "contact.note.added",
      "contact",
      "webhook.deactivated",
      "webhook.reactivated",
      "payload.failed",
      "payload.anything",
    ]
  ) {
    const answer = await api(s, "POST", "/v1/events", {
      token: org.apiKey,
      body: { event, object: "contact", objectId: "ct_forged", data: { email: "x@example.com" } },
      headers: { "idempotency-key": `forged-${event}` },
    });
    assert.equal(answer.status, 422, `${event}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.error.code, "reserved_event_name");
    assert.equal(answer.body.error.details[0].path, "body.event");
  }
  assert.equal(await snapshot(s), before, "a refused event changed the database");
  // Names that merely start alike are anyone's.
  for (const event of ["contacts.synced", "webhooks.imported", "payloads.counted"]) {
    const answer = await api(s, "POST", "/v1/events", {
      token: org.apiKey,
      body: { event, object: "o", data: {} },
    });
    assert.equal(answer.status, 202, event);
  }
});

/**
 * A request to the stack over a raw connection (fetch always writes its own Host header), with the
 * Host and other headers of the test's choosing: its status, headers and body.
 */
async function rawRequest(
  s: Stack,
  method: string,
  path: string,
  headers: Record<string, string>,
  body = "",
): Promise<{ status: number; headers: Headers; body: string }> {
  const url = new URL(s.apiUrl);
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  const lines = Object.entries({ ...headers, "content-length": String(body.length) })
    .map(([name, value]) => `${name}: ${value}\r\n`).join("");
  await conn.write(
    new TextEncoder().encode(
      `${method} ${path} HTTP/1.1\r\n${lines}connection: close\r\n\r\n${body}`,
    ),
  );
  const text = await new Response(conn.readable).text();
  const [head = "", ...rest] = text.split("\r\n\r\n");
  const [statusLine = "", ...headerLines] = head.split("\r\n");
  const answerHeaders = new Headers();
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    answerHeaders.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { status: Number(statusLine.split(" ")[1]), headers: answerHeaders, body: rest.join("") };
}

/** The status of a GET with the given Host (and other headers). */
async function getAs(s: Stack, path: string, headers: Record<string, string>, token?: string) {
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  return (await rawRequest(s, "GET", path, { ...headers, ...auth })).status;
}

test("with PUBLIC_HOSTS, a page on a rebinding name reads no /metrics, /readyz, docs or dashboard", async () => {
  const s = await stack({ PUBLIC_HOSTS: "herald.example.com, api.herald.example.com:8443" });
  const port = new URL(s.apiUrl).port;
  const org = await createOrganization(s);
  const unauthenticated = ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/"];
  const rebinding = { host: `rebind.attacker.test:${port}` };
  for (const path of unauthenticated) {
    assert.equal(await getAs(s, path, rebinding), 421, path);
  }
  const answer = await rawRequest(s, "GET", "/metrics", rebinding);
  assert.match(answer.body, /"code":"misdirected_request"/);
  // A sign-in posted from the rebinding page, with its own Origin, is refused too.
  const signIn = await rawRequest(s, "POST", "/sign-in", {
    ...rebinding,
    origin: `http://rebind.attacker.test:${port}`,
    "content-type": "application/x-www-form-urlencoded",
  }, new URLSearchParams({ apiKey: org.apiKey }).toString());
  assert.equal(signIn.status, 421);
  assert.equal(signIn.headers.get("set-cookie"), null);
  // Herald's own names (any port unless the entry has one), address literals and localhost pass.
  for (
    const host of [
      "herald.example.com",
      `HERALD.example.com.:${port}`,
      "api.herald.example.com:8443",
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      `localhost:${port}`,
    ]
  ) {
    assert.equal(await getAs(s, "/healthz", { host }), 200, host);
  }
  assert.equal(await getAs(s, "/healthz", { host: "api.herald.example.com:9999" }), 421);
  // The API itself needs a bearer token, and answers by any name.
  assert.equal(await getAs(s, "/v1/webhooks", rebinding, org.apiKey), 200);
});

test("with PUBLIC_HOSTS and TRUST_PROXY, the host compared is the proxy's X-Forwarded-Host", async () => {
  const s = await stack({ PUBLIC_HOSTS: "herald.example.com", TRUST_PROXY: "true" });
  const port = new URL(s.apiUrl).port;
  // The proxy reaches Herald by its internal name; the browser's name is in X-Forwarded-Host.
  const internal = `herald-internal:${port}`;
  assert.equal(
    await getAs(s, "/metrics", { host: internal, "x-forwarded-host": "rebind.attacker.test" }),
    421,
  );
  assert.equal(
    await getAs(s, "/metrics", { host: internal, "x-forwarded-host": "herald.example.com" }),
    200,
  );
  // Without the list, every name is served, as before.
  const open = await stack({ TRUST_PROXY: "true" });
  assert.equal(
    await getAs(open, "/healthz", { host: `rebind.attacker.test:${new URL(open.apiUrl).port}` }),
    200,
  );
});

test("retention skips a payload a resend holds, and a resend racing retention is never deleted mid-resend", async () => {
  const s = await stack({ DELIVERY_MAX_ATTEMPTS: "1" });
  const db = s.infra.database.db;
  const receiver = await startReceiver();
  const org = await createOrganization(s);
  await createWebhook(s, org.apiKey, { url: receiver.url });
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) {
    const published = await api(s, "POST", "/v1/events", {
      token: org.apiKey,
      body: { event: "retention.race", object: "o", data: { i } },
    });
    ids.push(published.body.payloads[0].id);
  }
  await waitFor("every payload delivered", async () => {
    const rows = await db.selectFrom("payloads").select("status").where("id", "in", ids).execute();
    return rows.every((r) => r.status === "delivered");
  });
  // Failed long ago, as far as the database knows: resendable, and old enough for RETENTION=1d.
  await db.updateTable("payloads").set({ status: "failed" }).where("id", "in", ids).execute();
  const held = ids.pop()!;
  // The held one stays young until its turn.
  await db.updateTable("payloads").set({ updated_at: 1 }).where("id", "in", ids).execute();
  const retain = () =>
    withinMs(
      deleteExpiredRows(db, { asOf: Date.now(), retentionMs: 86_400_000, batchSize: 3 }),
      20_000,
      "the retention pass",
    );

  // A pass racing resends of the same payloads: each resend either wins (the payload stays, in
  // its new run) or finds the payload gone (404, or 409 when it went under the resend's feet).
  const [, answers] = await Promise.all([
    retain(),
    Promise.all(
      ids.map((id) => api(s, "POST", `/v1/payloads/${id}/resend`, { token: org.apiKey })),
    ),
  ]);
  for (const [i, answer] of answers.entries()) {
    const row = await db.selectFrom("payloads").select(["run", "status"])
      .where("id", "=", ids[i]!).executeTakeFirst();
    if (answer.status === 202) {
      assert.equal(row?.run, 2, `payload ${ids[i]} was resent (202) but ${JSON.stringify(row)}`);
    } else {
      assert.ok([404, 409].includes(answer.status), JSON.stringify(answer.body));
      assert.equal(row, undefined, `payload ${ids[i]} refused ${answer.status} yet kept`);
    }
  }
  await retain(); // Whatever the race left old goes now; the resent ones are young again.

  // A resend that holds the payload's row (its update not committed yet): the pass skips it, at
  // once, and the payload is still there when the resend goes on.
  await db.updateTable("payloads").set({ updated_at: 1 }).where("id", "=", held).execute();
  const rollback = new Error("rollback");
  let progress: Awaited<ReturnType<typeof deleteExpiredRows>> | undefined;
  await db.transaction().execute(async (trx) => {
    await trx.updateTable("payloads").set({ status: "pending" }).where("id", "=", held).execute();
    progress = await retain();
    throw rollback;
  }).catch((err) => {
    if (err !== rollback) throw err;
  });
  assert.equal(progress?.payloads, 0);
  const kept = await db.selectFrom("payloads").select("status").where("id", "=", held)
    .executeTakeFirst();
  assert.equal(kept?.status, "failed");
  // Released, it is old and final: the next pass deletes it.
  assert.equal((await retain()).payloads, 1);
  await receiver.close();
});

test("on a plain-http webhook, the egress proxy's refusal or failed connection is Herald's, not a response", async () => {
  // Free a port on 127.0.0.1: nothing listens there.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = (closed.addr as Deno.NetAddr).port;
  closed.close();
  let lookups = 0;
  // Allowed when the webhook is saved; 127.0.0.2 (loopback, not allowed) at the attempt.
  const resolve = (host: string) =>
    Promise.resolve([host === "rebind.herald.test" && lookups++ > 0 ? "127.0.0.2" : "127.0.0.1"]);
  const s = await stack({
    ALLOW_INSECURE_URLS: "true",
    ALLOW_PRIVATE_NETWORKS: "127.0.0.1/32",
    DELIVERY_MAX_ATTEMPTS: "1",
  }, { resolve });
  const org = await createOrganization(s);
  const refused = await createWebhook(s, org.apiKey, {
    url: `http://rebind.herald.test:${closedPort}/hooks`,
  });
  const unreachable = await createWebhook(s, org.apiKey, {
    url: `http://closed.herald.test:${closedPort}/hooks`,
  });
  const published = await api(s, "POST", "/v1/events", {
    token: org.apiKey,
    body: { event: "egress.probe", object: "probe", data: {} },
  });
  const finals = await waitFor("both runs to end", async () => {
    const all = await Promise.all(
      published.body.payloads.map(async (p: { id: string }) =>
        (await api(s, "GET", `/v1/payloads/${p.id}`, { token: org.apiKey })).body
      ),
    );
    return all.every((p) => p.status === "failed") && all;
  });
  const byWebhook = new Map(finals.map((p) => [p.webhookId, p.attemptLog[0]]));
  const refusal = byWebhook.get(refused.id);
  assert.equal(refusal.responseStatus, null, JSON.stringify(refusal));
  assert.match(
    refusal.error,
    /^Refused: the URL must not resolve to a loopback address \(rebind\.herald\.test → 127\.0\.0\.2\)/,
  );
  const failure = byWebhook.get(unreachable.id);
  assert.equal(failure.responseStatus, null, JSON.stringify(failure));
  assert.match(failure.error, new RegExp(`^Connection failed: 127\\.0\\.0\\.1:${closedPort}: `));
});

test("a plain-http webhook with the most and largest custom headers the API accepts is delivered through the proxy", async () => {
  let got: Headers | undefined;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    got = req.headers;
    return new Response("ok");
  });
  const s = await stack({
    ALLOW_INSECURE_URLS: "true",
    ALLOW_PRIVATE_NETWORKS: "127.0.0.1/32",
    DELIVERY_MAX_ATTEMPTS: "1",
  });
  const org = await createOrganization(s);
  const headers = Object.fromEntries(
    Array.from({ length: MAX_HEADERS }, (_, i) => [
      `x-${String(i).padStart(2, "0")}-`.padEnd(MAX_HEADER_NAME_LENGTH, "n"),
      "v".repeat(MAX_HEADER_VALUE_LENGTH),
    ]),
  );
  const path = `/${"p".repeat(MAX_URL_LENGTH - 40)}`;
  await createWebhook(s, org.apiKey, {
    url: `http://127.0.0.1:${server.addr.port}${path}`,
    headers,
  });
  const published = await api(s, "POST", "/v1/events", {
    token: org.apiKey,
    body: { event: "egress.probe", object: "probe", data: {} },
  });
  const final = await waitFor("the run to end", async () => {
    const p = (await api(s, "GET", `/v1/payloads/${published.body.payloads[0].id}`, {
      token: org.apiKey,
    })).body;
    return (p.status === "failed" || p.status === "delivered") && p;
  });
  assert.equal(final.status, "delivered", JSON.stringify(final.attemptLog));
  assert.equal(Object.keys(headers).filter((name) => got?.get(name) !== headers[name]).length, 0);
  await server.shutdown();
});

stopStackAfterTests();
