/**
 * Races closed by design: concurrent writers of one row, each keeping the other's work. Each test
 * was written to fail before its fix.
 */
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
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

stopStackAfterTests();

test("eight rotations at once keep every secret they issued signing", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url });
  const rotations = await Promise.all(
    Array.from(
      { length: 8 },
      () => api(s, "POST", `/v1/webhooks/${webhook.id}/rotate-secret`, { token: org.apiKey }),
    ),
  );
  const secrets = [webhook.signingSecret, ...rotations.map((r) => r.body.signingSecret)];
  assert.equal(new Set(secrets).size, 9);
  await api(s, "POST", "/v1/events", {
    token: org.apiKey,
    body: { event: "a.b", object: "o", data: {} },
  });
  const got = await waitFor("the delivery", () => receiver.received[0]);
  assert.equal(got.headers["webhook-signature"]!.split(" ").length, 9);
  for (const secret of secrets) {
    assert.doesNotThrow(() =>
      new Webhook(secret).verify(got.rawBody, {
        "webhook-id": got.headers["webhook-id"]!,
        "webhook-timestamp": got.headers["webhook-timestamp"]!,
        "webhook-signature": got.headers["webhook-signature"]!,
      })
    );
  }
  await receiver.close();
});
