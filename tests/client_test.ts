/** The typed client: a user's whole flow through it, and its types kept in step with the API. */
import assert from "node:assert/strict";
import { ADMIN_TOKEN, client, stack, stopStackAfterTests, test, waitFor } from "./harness.ts";
import { startReceiver } from "./receiver.ts";
import { CLIENT_TYPES_FILE, clientTypes } from "../src/client/generate.ts";

test("client: organization, webhook, contact, delivery and a refusal through the typed client", async () => {
  const s = await stack();
  const receiver = await startReceiver();
  try {
    const admin = client(s, ADMIN_TOKEN);
    const org = await admin.POST("/v1/organizations", {
      body: { name: "Typed client", plan: "business" },
    });
    assert.equal(org.response.status, 201);
    assert.ok(org.data);
    const herald = client(s, org.data.apiKey);

    const created = await herald.POST("/v1/webhooks", { body: { url: receiver.url } });
    assert.equal(created.response.status, 201);
    assert.ok(created.data);
    assert.match(created.data.signingSecret, /^whsec_/);
    assert.equal(created.data.status, "active");
    const webhookId = created.data.id;

    const contact = await herald.POST("/v1/contacts", {
      body: { fields: { email: "typed@example.com" } },
      headers: { "idempotency-key": crypto.randomUUID() },
    });
    assert.equal(contact.response.status, 201);
    await waitFor("the delivery", () => receiver.received.length === 1);

    const payloads = await waitFor("the payload delivered", async () => {
      const { data } = await herald.GET("/v1/webhooks/{id}/payloads", {
        params: { path: { id: webhookId } },
      });
      return data?.data[0]?.status === "delivered" && data.data;
    });
    const payload = await herald.GET("/v1/payloads/{id}", {
      params: { path: { id: payloads[0]!.id } },
    });
    assert.ok(payload.data);
    assert.equal(payload.data.event, "contact.created");
    assert.equal(payload.data.attempts, 1);
    assert.equal(payload.data.attemptLog[0]?.responseStatus, 200);

    // A refusal arrives as the API's error shape, typed.
    const refused = await herald.POST("/v1/webhooks", { body: { url: "http://plain.example" } });
    assert.equal(refused.response.status, 422);
    assert.equal(refused.data, undefined);
    assert.equal(refused.error?.error.code, "invalid_url");

    const missing = await herald.GET("/v1/webhooks/{id}", {
      params: { path: { id: "wh_00000000000000000000000000" } },
    });
    assert.equal(missing.response.status, 404);
    assert.equal(missing.error?.error.code, "not_found");

    // The types refuse what the API would: checked by `deno check` before the tests run.
    if (Math.random() > 2) {
      // @ts-expect-error: a webhook needs a url
      await herald.POST("/v1/webhooks", { body: { name: "no url" } });
      // @ts-expect-error: there is no such route
      await herald.GET("/v1/webhook");
    }
  } finally {
    await receiver.close();
  }
});

test("client: the committed types match the OpenAPI document (run `deno task client` after a change)", async () => {
  assert.equal(
    await Deno.readTextFile(CLIENT_TYPES_FILE),
    await clientTypes(),
    "src/client/openapi.ts is out of date: run `deno task client`",
  );
});

stopStackAfterTests();
