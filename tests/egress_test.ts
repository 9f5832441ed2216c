/**
 * Deliveries connect to exactly the address they checked: a name that rebinds between lookups,
 * and lookups that fail or hang. Only loopback addresses, with a resolver the test controls.
 */
import assert from "node:assert/strict";
import {
  api,
  createOrganization,
  createWebhook,
  stack,
  stopStackAfterTests,
  test,
  waitFor,
} from "./harness.ts";
import { startReceiver } from "./receiver.ts";
import { testCertificates } from "./tls.ts";
import { startEgressProxy } from "../workers/egress.ts";
import { httpDestination } from "../workers/send.ts";

const NAME = "rebind.herald.test";

async function publishAndWait(s: Awaited<ReturnType<typeof stack>>, apiKey: string) {
  const published = await api(s, "POST", "/v1/events", {
    token: apiKey,
    body: { event: "egress.probe", object: "probe", data: {} },
  });
  const payloadId = published.body.payloads[0].id;
  return await waitFor("the run to end", async () => {
    const p = (await api(s, "GET", `/v1/payloads/${payloadId}`, { token: apiKey })).body;
    return (p.status === "failed" || p.status === "delivered") && p;
  }, 30_000);
}

test("a rebinding name reaches only the address its attempt checked; the refused one gets nothing", async () => {
  const allowed = await startReceiver(() => new Response("no", { status: 500 }));
  const port = Number(new URL(allowed.url).port);
  const refused = await startReceiver(() => new Response("ok"), { hostname: "127.0.0.2", port });
  let lookups = 0;
  const resolve = (host: string) =>
    host === NAME
      ? Promise.resolve([lookups++ === 0 ? "127.0.0.1" : "127.0.0.2"])
      : Promise.reject(new Error("unknown name"));
  // 127.0.0.1 is allowed, 127.0.0.2 (loopback too) is not.
  const s = await stack({
    ALLOW_PRIVATE_NETWORKS: "127.0.0.1/32",
    DELIVERY_MAX_ATTEMPTS: "3",
    DELIVERY_RETRY_INTERVAL: "200ms",
  }, { resolve });
  const org = await createOrganization(s);
  await createWebhook(s, org.apiKey, { url: `https://${NAME}:${port}/hooks` });
  lookups = 0; // The first answer of the test is the first attempt's.
  const final = await publishAndWait(s, org.apiKey);
  assert.equal(final.status, "failed");
  assert.equal(final.attemptLog[0].responseStatus, 500);
  // Later attempts reuse the connection to the address checked first, or look the name up again
  // and are refused: either way nothing reaches 127.0.0.2.
  for (const attempt of final.attemptLog.slice(1)) {
    if (attempt.responseStatus === 500) continue;
    assert.match(
      attempt.error,
      /^Refused: the URL must not resolve to a loopback address \(rebind\.herald\.test → 127\.0\.0\.2\)/,
    );
  }
  assert.ok(allowed.received.length >= 1);
  assert.equal(refused.received.length, 0);
  await Promise.all([allowed.close(), refused.close()]);
});

test("the egress proxy connects to the address it checked, and refuses the next lookup's", async () => {
  const allowed = await startReceiver();
  const port = Number(new URL(allowed.url).port);
  const refused = await startReceiver(() => new Response("ok"), { hostname: "127.0.0.2", port });
  let lookups = 0;
  const proxy = startEgressProxy({
    policy: {
      allowInsecureUrls: false,
      allowPrivateNetworks: false,
      allowedNetworks: ["127.0.0.1/32"],
    },
    resolve: () => Promise.resolve([lookups++ === 0 ? "127.0.0.1" : "127.0.0.2"]),
    lookupTimeoutMs: 1_000,
  });
  const { caCert } = await testCertificates();
  // No pooled connections: each request opens a tunnel, and so looks the name up. The client
  // names itself as the proxy's user, as the worker's lanes do.
  const client = Deno.createHttpClient({
    caCerts: [caCert],
    proxy: { url: proxy.url, basicAuth: { username: "lane-1", password: "" } },
    poolMaxIdlePerHost: 0,
  });
  const url = `https://${NAME}:${port}/hooks`;
  const first = await fetch(url, { method: "POST", body: "{}", client });
  assert.equal(first.status, 200);
  await first.body?.cancel();
  await assert.rejects(fetch(url, { method: "POST", body: "{}", client }));
  assert.equal(proxy.takeRefusal(`${NAME}:${port}`), undefined, "keyed by attempt, not host");
  assert.equal(
    proxy.takeRefusal("lane-1"),
    `Refused: the URL must not resolve to a loopback address (${NAME} → 127.0.0.2)`,
  );
  assert.equal(proxy.takeRefusal("lane-1"), undefined, "taken once");
  assert.equal(allowed.received.length, 1);
  assert.equal(refused.received.length, 0);
  client.close();
  proxy.close();
  await Promise.all([allowed.close(), refused.close()]);
});

test("a name that does not resolve, or whose lookup hangs, is refused within the attempt's time", async () => {
  const receiver = await startReceiver();
  const port = new URL(receiver.url).port;
  const resolve = (host: string) =>
    host === `hangs.herald.test`
      ? new Promise<string[]>(() => {})
      : Promise.reject(new Error("no such name"));
  const s = await stack({
    ALLOW_PRIVATE_NETWORKS: "127.0.0.1/32",
    DELIVERY_MAX_ATTEMPTS: "1",
    DELIVERY_TIMEOUT: "1s",
  }, { resolve });
  const org = await createOrganization(s);
  const missing = await createWebhook(s, org.apiKey, {
    url: `https://missing.herald.test:${port}/`,
  });
  const hangs = await createWebhook(s, org.apiKey, { url: `https://hangs.herald.test:${port}/` });
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
  }, 30_000);
  const byWebhook = new Map(finals.map((p) => [p.webhookId, p.attemptLog[0]]));
  assert.match(
    byWebhook.get(missing.id).error,
    /^Refused: the URL's host missing\.herald\.test does not resolve/,
  );
  const hung = byWebhook.get(hangs.id);
  assert.match(
    hung.error,
    /^Refused: the URL's host hangs\.herald\.test did not resolve within 500 ms/,
  );
  assert.ok(hung.durationMs < 1_500, `refused after ${hung.durationMs} ms`);
  assert.equal(receiver.received.length, 0);
  await receiver.close();
});

test("a plain http:// receiver (ALLOW_INSECURE_URLS) is delivered to through the proxy, once per attempt", async () => {
  const received: Array<{ path: string; host: string | null; body: string }> = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    received.push({
      path: new URL(req.url).pathname + new URL(req.url).search,
      host: req.headers.get("host"),
      body: await req.text(),
    });
    return new Response("ok");
  });
  const s = await stack({ ALLOW_INSECURE_URLS: "true", ALLOW_PRIVATE_NETWORKS: "127.0.0.1/32" });
  const org = await createOrganization(s);
  const url = `http://127.0.0.1:${server.addr.port}/plain/hooks?x=1`;
  await createWebhook(s, org.apiKey, { url });
  for (let i = 0; i < 2; i++) {
    const final = await publishAndWait(s, org.apiKey);
    assert.equal(final.status, "delivered");
  }
  assert.equal(received.length, 2);
  for (const r of received) {
    assert.equal(r.path, "/plain/hooks?x=1");
    assert.equal(r.host, `127.0.0.1:${server.addr.port}`);
    assert.equal(JSON.parse(r.body).event, "egress.probe");
  }
  await server.shutdown();
});

stopStackAfterTests();

test("two attempts refused at once each record their own refusal, none a generic proxy error", async () => {
  // Written to fail before refusals were keyed by the client an attempt holds: keyed by
  // host:port, the second attempt found nothing and recorded the HTTP client's error.
  const refused = await startReceiver(() => new Response("ok"), { hostname: "127.0.0.2" });
  const port = Number(new URL(refused.url).port);
  const policy = { allowInsecureUrls: false, allowPrivateNetworks: false, allowedNetworks: [] };
  const proxy = startEgressProxy({
    policy,
    resolve: () => new Promise((resolve) => setTimeout(() => resolve(["127.0.0.2"]), 50)),
    lookupTimeoutMs: 1_000,
  });
  const destination = httpDestination({
    urlPolicy: policy,
    egress: proxy,
    caCerts: [(await testCertificates()).caCert],
  });
  const request = (payloadId: string) => ({
    url: `https://${NAME}:${port}/hooks`,
    body: "{}",
    payloadId,
    timestampSeconds: 0,
    signature: "v1,x",
    timeoutMs: 2_000,
    headers: {},
  });
  const results = await Promise.all([
    destination.send(request("pl_a")),
    destination.send(request("pl_b")),
  ]);
  for (const result of results) {
    assert.equal(result.status, null);
    assert.equal(result.refused, true);
    assert.match(result.error!, /^Refused: the URL must not resolve to a loopback address/);
  }
  assert.equal(refused.received.length, 0);
  destination.close();
  proxy.close();
  await refused.close();
});

test("a tunnel carries a body of many TLS records each way, and the next POST on it", async () => {
  const answer = "a".repeat(100_000);
  const receiver = await startReceiver((_n, entry) =>
    new Response(`${entry.rawBody.length}:${answer}`)
  );
  const policy = {
    allowInsecureUrls: false,
    allowPrivateNetworks: true,
    allowedNetworks: [],
  };
  const proxy = startEgressProxy({
    policy,
    resolve: () => Promise.resolve(["127.0.0.1"]),
    lookupTimeoutMs: 1_000,
  });
  const destination = httpDestination({
    urlPolicy: policy,
    egress: proxy,
    caCerts: [(await testCertificates()).caCert],
  });
  const port = Number(new URL(receiver.url).port);
  // 1 MiB of JSON: about 64 TLS records from Herald, and 100 kB back from the receiver.
  const body = JSON.stringify({ data: "x".repeat(1024 * 1024) });
  for (const payloadId of ["pl_big_1", "pl_big_2"]) {
    const result = await destination.send({
      url: `https://${NAME}:${port}/hooks`,
      body,
      payloadId,
      timestampSeconds: 0,
      signature: "v1,x",
      timeoutMs: 5_000,
      headers: {},
    });
    assert.equal(result.status, 200, String(result.error));
    assert.ok(result.body!.startsWith(`${body.length}:aaaa`), result.body!.slice(0, 40));
  }
  assert.deepEqual(receiver.received.map((r) => r.rawBody === body), [true, true]);
  destination.close();
  proxy.close();
  await receiver.close();
});
