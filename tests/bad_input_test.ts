/** Bad input gets the documented error shape and status, and changes nothing. */
import assert from "node:assert/strict";
import {
  ADMIN_TOKEN,
  api,
  type ApiAnswer,
  createOrganization,
  createWebhook,
  snapshot,
  stack,
  stopStackAfterTests,
  test,
} from "./harness.ts";

function assertError(answer: ApiAnswer, status: number, code: string) {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.deepEqual(Object.keys(answer.body), ["error"]);
  assert.deepEqual(Object.keys(answer.body.error), ["code", "message", "details"]);
  assert.equal(answer.body.error.code, code);
  assert.equal(typeof answer.body.error.message, "string");
  assert.ok(answer.body.error.message.length > 0);
  assert.ok(Array.isArray(answer.body.error.details));
}

/** Runs a request that must be refused, and checks that the database did not change. */
async function refused(
  request: () => Promise<ApiAnswer>,
  status: number,
  code: string,
): Promise<ApiAnswer> {
  const s = await stack();
  const before = await snapshot(s);
  const answer = await request();
  assertError(answer, status, code);
  assert.equal(await snapshot(s), before, "a refused request changed the database");
  return answer;
}

test("a non-HTTPS webhook URL is refused with 422 naming the field", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  for (const url of ["http://example.com/hooks", "ftp://example.com", "not a url", "https://"]) {
    const answer = await refused(
      () => api(s, "POST", "/v1/webhooks", { token: org.apiKey, body: { url } }),
      422,
      url.startsWith("http://")
        ? "invalid_url"
        : url === "https://"
        ? "invalid_url"
        : "invalid_url",
    );
    assert.equal(answer.body.error.details[0].path, "body.url");
  }
});

test("malformed JSON is refused with 400", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  for (const raw of ["{", '{"fields": {"a": 1,}}', "nul", '{"fields": [}']) {
    await refused(
      () =>
        api(s, "POST", "/v1/contacts", {
          token: org.apiKey,
          raw,
          headers: { "content-type": "application/json" },
        }),
      400,
      "malformed_json",
    );
  }
});

test("a missing or wrong token is refused with 401", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const body = { fields: { email: "x@example.com" } };
  await refused(() => api(s, "POST", "/v1/contacts", { body }), 401, "unauthorized");
  await refused(
    () => api(s, "POST", "/v1/contacts", { token: "hk_wrong", body }),
    401,
    "unauthorized",
  );
  await refused(
    () =>
      api(s, "POST", "/v1/contacts", { body, headers: { authorization: `Basic ${org.apiKey}` } }),
    401,
    "unauthorized",
  );
  // The admin token is not an organization's key, and an organization's key is not the admin's.
  await refused(
    () => api(s, "POST", "/v1/contacts", { token: ADMIN_TOKEN, body }),
    401,
    "unauthorized",
  );
  await refused(
    () =>
      api(s, "POST", "/v1/organizations", { token: org.apiKey, body: { name: "x", plan: "free" } }),
    401,
    "unauthorized",
  );
});

test("an unknown id is refused with 404", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  for (const path of ["/v1/webhooks/wh_nope", "/v1/contacts/ct_nope", "/v1/payloads/pl_nope"]) {
    await refused(() => api(s, "GET", path, { token: org.apiKey }), 404, "not_found");
  }
  await refused(
    () =>
      api(s, "PATCH", "/v1/contacts/ct_nope", { token: org.apiKey, body: { fields: { a: 1 } } }),
    404,
    "not_found",
  );
  await refused(
    () => api(s, "DELETE", "/v1/webhooks/wh_nope", { token: org.apiKey }),
    404,
    "not_found",
  );
  await refused(
    () => api(s, "GET", "/v1/organizations/org_nope", { token: ADMIN_TOKEN }),
    404,
    "not_found",
  );
});

test("a body over 1 MiB is refused with 413", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const big = JSON.stringify({ fields: { blob: "x".repeat(1024 * 1024 + 10) } });
  await refused(
    () =>
      api(s, "POST", "/v1/contacts", {
        token: org.apiKey,
        raw: big,
        headers: { "content-type": "application/json" },
      }),
    413,
    "payload_too_large",
  );
});

test("a field of an unknown type is refused with 422 naming the field", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  for (const value of [{ nested: true }, [1, 2], null]) {
    const answer = await refused(
      () =>
        api(s, "POST", "/v1/contacts", { token: org.apiKey, body: { fields: { email: value } } }),
      422,
      "validation_failed",
    );
    assert.equal(answer.body.error.details[0].path, "body.fields.email");
  }
  await refused(
    () => api(s, "POST", "/v1/contacts", { token: org.apiKey, body: { fields: {}, extra: 1 } }),
    422,
    "validation_failed",
  );
});

test("webhooks need the business plan: 403 plan_required", async () => {
  const s = await stack();
  const org = await createOrganization(s, "pro");
  await refused(
    () =>
      api(s, "POST", "/v1/webhooks", { token: org.apiKey, body: { url: "https://example.com/h" } }),
    403,
    "plan_required",
  );
});

test("one organization's key cannot see another's webhook (404, not 403)", async () => {
  const s = await stack();
  const a = await createOrganization(s);
  const b = await createOrganization(s);
  const webhook = await createWebhook(s, a.apiKey, { url: "https://example.com/a" });
  await refused(
    () => api(s, "GET", `/v1/webhooks/${webhook.id}`, { token: b.apiKey }),
    404,
    "not_found",
  );
  await refused(
    () => api(s, "GET", `/v1/organizations/${a.id}`, { token: b.apiKey }),
    404,
    "not_found",
  );
  const list = await api(s, "GET", "/v1/webhooks", { token: b.apiKey });
  assert.deepEqual(list.body, { data: [], nextCursor: null });
});

stopStackAfterTests();

test("a change that would give a contact more than 100 fields is refused, and records nothing", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const fields = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`f${i}`, i]));
  const created = await api(s, "POST", "/v1/contacts", { token: org.apiKey, body: { fields } });
  assert.equal(created.status, 201);
  const answer = await refused(
    () =>
      api(s, "PATCH", `/v1/contacts/${created.body.id}`, {
        token: org.apiKey,
        body: { fields: { f101: "one too many" } },
      }),
    422,
    "validation_failed",
  );
  assert.equal(answer.body.error.details[0].path, "body.fields");
  // Replacing a field and removing one keeps it at 100: accepted.
  const swapped = await api(s, "PATCH", `/v1/contacts/${created.body.id}`, {
    token: org.apiKey,
    body: { fields: { f0: null, f101: "in place of f0" } },
  });
  assert.equal(swapped.status, 200);
  assert.equal(Object.keys(swapped.body.fields).length, 100);
  assert.equal(swapped.body.fields.f101, "in place of f0");
});
