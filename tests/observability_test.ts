/** Logs and metrics, as an operator sees them. */
import assert from "node:assert/strict";
import { api, createOrganization, stack, stopStackAfterTests, test, waitFor } from "./harness.ts";
import { startReceiver } from "./receiver.ts";
import { setLogLevel, setLogSink } from "../src/log.ts";

test("logs and /metrics show each request and attempt of a delivery", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  const lines: string[] = [];
  const previous = setLogSink((line) => lines.push(line));
  setLogLevel("info");
  try {
    const created = await api(s, "POST", "/v1/webhooks", {
      token: org.apiKey,
      body: { url: receiver.url },
    });
    assert.equal(created.status, 201);
    const webhook = created.body;
    const contact = await api(s, "POST", "/v1/contacts", {
      token: org.apiKey,
      body: { fields: { email: "m@example.com" } },
    });
    assert.equal(contact.status, 201);
    await waitFor("the delivery", () => receiver.received.length === 1);
    const payloadId = receiver.received[0]!.body._id as string;
    await waitFor(
      "delivered",
      async () =>
        (await api(s, "GET", `/v1/payloads/${payloadId}`, { token: org.apiKey })).body.status ===
          "delivered",
    );

    const parsed = lines.map((l) => JSON.parse(l));
    const attemptLine = parsed.find((l) => l.msg === "attempt" && l.payloadId === payloadId);
    assert.ok(attemptLine, "one log line per attempt");
    assert.equal(attemptLine.webhookId, webhook.id);
    assert.equal(attemptLine.workflowId, `payload:${payloadId}`);
    assert.equal(attemptLine.status, 200);
    const requestLine = parsed.find((l) => l.msg === "request" && l.path === "/v1/contacts");
    assert.equal(requestLine.status, 201);
    assert.equal(requestLine.route, "/v1/contacts");

    const metrics = await (await fetch(`${s.apiUrl}/metrics`)).text();
    assert.match(metrics, /^herald_deliveries_total\{outcome="delivered"\} [1-9]\d*$/m);
    assert.match(metrics, /^herald_attempts_total\{outcome="success"\} [1-9]\d*$/m);
    assert.match(metrics, /^herald_attempt_duration_seconds_count [1-9]\d*$/m);
    assert.match(
      metrics,
      /^herald_http_requests_total\{method="POST",route="\/v1\/contacts",status="201"\} [1-9]/m,
    );
    assert.match(metrics, /^herald_payloads\{status="pending"\} \d+$/m);
    assert.match(metrics, /^herald_webhooks\{status="active"\} [1-9]/m);
  } finally {
    setLogSink(previous);
    setLogLevel("error");
    await receiver.close();
  }
});

stopStackAfterTests();
