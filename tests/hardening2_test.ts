/**
 * The second round of attacks, and what must hold: the failed-authentication throttle never
 * refuses a valid credential (directly or behind a proxy) and cannot be overshot.
 */
import assert from "node:assert/strict";
import {
  ADMIN_TOKEN,
  api,
  createOrganization,
  type Stack,
  stack,
  stopStackAfterTests,
  test,
} from "./harness.ts";

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

stopStackAfterTests();
