// deno-lint-ignore-file no-explicit-any
/** What happens when a webhook does not answer 200: retries, deactivation, reactivation. */
import assert from "node:assert/strict";
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
import { lifecycleWorkflowId, WebhookIdKey } from "../src/temporal/names.ts";

/** A stack whose pause between attempts is short, for tests that are not about the timing. */
const FAST = { DELIVERY_RETRY_INTERVAL: "300ms" };

const status500 = () => new Response("boom", { status: 500 });

async function publish(s: Stack, apiKey: string, event = "thing.happened") {
  const answer = await api(s, "POST", "/v1/events", {
    token: apiKey,
    body: { event, object: "thing", data: { n: 1 } },
  });
  assert.equal(answer.status, 202, JSON.stringify(answer.body));
  return answer.body as { id: string; payloads: Array<{ id: string; webhookId: string }> };
}

async function payload(s: Stack, apiKey: string, id: string) {
  return (await api(s, "GET", `/v1/payloads/${id}`, { token: apiKey })).body;
}

async function webhookState(s: Stack, apiKey: string, id: string) {
  return (await api(s, "GET", `/v1/webhooks/${id}`, { token: apiKey })).body;
}

test("a payload that fails five times, 5 s apart, deactivates its webhook (real interval)", async () => {
  const s = await stack();
  const org = await createOrganization(s);
  const receiver = await startReceiver(status500);
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url });
  const published = await publish(s, org.apiKey);
  const payloadId = published.payloads[0]!.id;

  const final = await waitFor("the payload to fail", async () => {
    const p = await payload(s, org.apiKey, payloadId);
    return p.status === "failed" && p;
  }, 60_000);
  assert.equal(receiver.received.length, 5);
  const bodies = receiver.received.map((r) => r.body as Record<string, any>);
  assert.deepEqual(bodies.map((b) => b.deliveryAttempts), [1, 2, 3, 4, 5]);
  assert.ok(bodies.every((b) => b._id === payloadId));
  assert.ok(bodies.every((b) => b.firstSentAt === bodies[0]!.firstSentAt));
  const gaps = receiver.received.slice(1).map((r, i) => r.at - receiver.received[i]!.at);
  console.log(`gaps: ${gaps.join(", ")} ms`);
  for (const gap of gaps) assert.ok(Math.abs(gap - 5_000) <= 500, `gap of ${gap} ms: ${gaps}`);
  assert.equal(final.attemptLog.length, 5);
  assert.deepEqual(final.attemptLog.map((a: { number: number }) => a.number), [1, 2, 3, 4, 5]);
  assert.ok(final.attemptLog.every((a: { responseStatus: number }) => a.responseStatus === 500));
  assert.equal(final.attemptLog[0].responseBody, "boom");

  const deactivated = await waitFor("the webhook to be deactivated", async () => {
    const w = await webhookState(s, org.apiKey, webhook.id);
    return w.status === "deactivated" && w;
  });
  assert.equal(deactivated.deactivationReason, "unreachable");
  assert.equal(typeof deactivated.deactivatedAt, "number");
  await receiver.close();
});

test("a receiver that fails twice then answers 200 gets 3 attempts; the webhook stays active", async () => {
  const s = await stack(FAST);
  const org = await createOrganization(s);
  const receiver = await startReceiver((n) => n <= 2 ? status500() : new Response("ok"));
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url });
  const published = await publish(s, org.apiKey);
  const p = await waitFor("delivery", async () => {
    const p = await payload(s, org.apiKey, published.payloads[0]!.id);
    return p.status === "delivered" && p;
  });
  assert.equal(receiver.received.length, 3);
  assert.deepEqual(receiver.received.map((r) => r.body.deliveryAttempts), [1, 2, 3]);
  assert.deepEqual(p.attemptLog.map((a: { responseStatus: number }) => a.responseStatus), [
    500,
    500,
    200,
  ]);
  assert.equal((await webhookState(s, org.apiKey, webhook.id)).status, "active");
  await receiver.close();
});

test("timeouts, refused connections and redirects are failed attempts", async () => {
  const s = await stack({ ...FAST, DELIVERY_TIMEOUT: "300ms", DELIVERY_MAX_ATTEMPTS: "2" });
  const org = await createOrganization(s);
  const slow = await startReceiver(async () => {
    await new Promise((r) => setTimeout(r, 1_000));
    return new Response("late");
  });
  const redirect = await startReceiver(() =>
    new Response(null, { status: 302, headers: { location: "https://example.com/" } })
  );
  const refused = await startReceiver();
  await refused.close();
  const hooks = await Promise.all(
    [slow, redirect, refused].map((r) => createWebhook(s, org.apiKey, { url: r.url })),
  );
  const published = await publish(s, org.apiKey);
  const finals = await waitFor("all three to fail", async () => {
    const all = await Promise.all(published.payloads.map((p) => payload(s, org.apiKey, p.id)));
    return all.every((p) => p.status === "failed") && all;
  });
  const byWebhook = new Map(finals.map((p: { webhookId: string }) => [p.webhookId, p]));
  const [slowP, redirectP, refusedP] = hooks.map((h) => byWebhook.get(h.id) as any);
  assert.match(slowP.attemptLog[0].error, /Timed out after 300 ms/);
  assert.equal(redirectP.attemptLog[0].responseStatus, 302);
  assert.equal(redirect.received.length, 2, "the redirect is not followed");
  assert.match(refusedP.attemptLog[0].error, /refused|connect/i);
  await Promise.all([slow.close(), redirect.close()]);
});

test("a deactivated webhook gets nothing; activate (an update of its lifecycle) brings deliveries back", async () => {
  const s = await stack(FAST);
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url });

  const deactivated = await api(s, "POST", `/v1/webhooks/${webhook.id}/deactivate`, {
    token: org.apiKey,
  });
  assert.equal(deactivated.status, 200);
  assert.equal(deactivated.body.status, "deactivated");
  assert.equal(deactivated.body.deactivationReason, "manual");
  const whileOff = await publish(s, org.apiKey);
  assert.deepEqual(whileOff.payloads, []);

  const activated = await api(s, "POST", `/v1/webhooks/${webhook.id}/activate`, {
    token: org.apiKey,
  });
  assert.equal(activated.status, 200);
  assert.equal(activated.body.status, "active");
  assert.equal(activated.body.deactivationReason, null);

  // The lifecycle workflow's history shows the updates that changed the webhook, in order.
  const handle = s.herald.temporal.workflow.getHandle(lifecycleWorkflowId(webhook.id));
  const history = await handle.fetchHistory();
  const changes = (history.events ?? []).flatMap((e) => {
    const update = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
    if (!update) return [];
    const payload = update.input!.args!.payloads![0]!.data!;
    const request = JSON.parse(new TextDecoder().decode(payload));
    return [`${update.input!.name}:${request.change.kind}`];
  });
  assert.deepEqual(changes, ["applyChange:deactivate", "applyChange:reactivate"]);
  // The API answered with the state the workflow applied: the workflow says the same at once.
  assert.equal((await handle.query<{ status: string }>("state")).status, "active");

  const after = await publish(s, org.apiKey);
  assert.equal(after.payloads.length, 1);
  await waitFor("the delivery after reactivation", () => receiver.received.length === 1);
  assert.equal(receiver.received[0]!.body._id, after.payloads[0]!.id);
  await receiver.close();
});

test("a downgrade deactivates every webhook with plan_downgraded; activate needs business again", async () => {
  const s = await stack(FAST);
  const org = await createOrganization(s);
  const [a, b] = await Promise.all([startReceiver(), startReceiver()]);
  const first = await createWebhook(s, org.apiKey, { url: a!.url });
  const second = await createWebhook(s, org.apiKey, { url: b!.url });
  const hooks = [first, second];
  const down = await api(s, "PATCH", `/v1/organizations/${org.id}`, {
    token: ADMIN_TOKEN,
    body: { plan: "pro" },
  });
  assert.equal(down.status, 200);
  assert.equal(down.body.plan, "pro");
  for (const hook of hooks) {
    const w = await waitFor("plan_downgraded", async () => {
      const w = await webhookState(s, org.apiKey, hook.id);
      return w.status === "deactivated" && w;
    });
    assert.equal(w.deactivationReason, "plan_downgraded");
  }
  const refused = await api(s, "POST", `/v1/webhooks/${first.id}/activate`, {
    token: org.apiKey,
  });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error.code, "plan_required");

  const up = await api(s, "PATCH", `/v1/organizations/${org.id}`, {
    token: ADMIN_TOKEN,
    body: { plan: "business" },
  });
  assert.equal(up.status, 200);
  // An upgrade reactivates nothing by itself.
  assert.equal((await webhookState(s, org.apiKey, second.id)).status, "deactivated");
  const ok = await api(s, "POST", `/v1/webhooks/${first.id}/activate`, { token: org.apiKey });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.status, "active");
  await Promise.all([a!.close(), b!.close()]);
});

test("resend and recover deliver again, numbering attempts from 1", async () => {
  const s = await stack({ ...FAST, DELIVERY_MAX_ATTEMPTS: "2" });
  const org = await createOrganization(s);
  const receiver = await startReceiver(status500);
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url });
  const first = await publish(s, org.apiKey);
  await waitFor(
    "deactivation",
    async () => (await webhookState(s, org.apiKey, webhook.id)).status === "deactivated",
  );
  const second = await publish(s, org.apiKey);
  assert.deepEqual(second.payloads, [], "nothing is created for a deactivated webhook");
  const firstId = first.payloads[0]!.id;
  assert.equal((await payload(s, org.apiKey, firstId)).status, "failed");

  const early = await api(s, "POST", `/v1/payloads/${firstId}/resend`, { token: org.apiKey });
  assert.equal(early.status, 409);
  assert.equal(early.body.error.code, "webhook_inactive");

  receiver.answer(() => new Response("ok"));
  await api(s, "POST", `/v1/webhooks/${webhook.id}/activate`, { token: org.apiKey });
  const resent = await api(s, "POST", `/v1/payloads/${firstId}/resend`, { token: org.apiKey });
  assert.equal(resent.status, 202);
  assert.equal(resent.body.run, 2);
  const delivered = await waitFor("the resend", async () => {
    const p = await payload(s, org.apiKey, firstId);
    return p.status === "delivered" && p;
  });
  const last = receiver.received[receiver.received.length - 1]!;
  assert.equal(last.body._id, firstId);
  assert.equal(last.body.deliveryAttempts, 1);
  assert.deepEqual(
    delivered.attemptLog.map((a: { run: number; number: number }) => [a.run, a.number]),
    [[1, 1], [1, 2], [2, 1]],
  );
  const again = await api(s, "POST", `/v1/payloads/${firstId}/resend`, { token: org.apiKey });
  assert.equal(again.status, 409);
  assert.equal(again.body.error.code, "payload_not_final");

  // Two more failures, then recover resends both.
  receiver.answer(status500);
  const third = await publish(s, org.apiKey);
  await waitFor(
    "deactivation again",
    async () => (await webhookState(s, org.apiKey, webhook.id)).status === "deactivated",
  );
  receiver.answer(() => new Response("ok"));
  await api(s, "POST", `/v1/webhooks/${webhook.id}/activate`, { token: org.apiKey });
  const since = (await payload(s, org.apiKey, third.payloads[0]!.id)).createdAt;
  const recovered = await api(s, "POST", `/v1/webhooks/${webhook.id}/recover`, {
    token: org.apiKey,
    body: { since },
  });
  assert.equal(recovered.status, 202);
  assert.equal(recovered.body.count, 1);
  await waitFor(
    "the recovered payload",
    async () => (await payload(s, org.apiKey, third.payloads[0]!.id)).status === "delivered",
  );
  const recoveredAttempt = receiver.received.filter((r) => r.body._id === third.payloads[0]!.id);
  assert.deepEqual(recoveredAttempt.map((r) => r.body.deliveryAttempts), [1, 2, 1]);
  await receiver.close();
});

test("the Temporal CLI lists a webhook's deliveries by WebhookId", async () => {
  const s = await stack(FAST);
  const org = await createOrganization(s);
  const receiver = await startReceiver();
  const webhook = await createWebhook(s, org.apiKey, { url: receiver.url });
  const published = [await publish(s, org.apiKey), await publish(s, org.apiKey, "other.event")];
  const ids = published.map((p) => `payload:${p.payloads[0]!.id}`).sort();
  await waitFor("both deliveries", () => receiver.received.length === 2);
  const cli = `${Deno.cwd()}/.bin/temporal`;
  const listed = await waitFor("the visibility store", async () => {
    const out = await new Deno.Command(cli, {
      args: [
        "workflow",
        "list",
        "--address",
        s.infra.temporal.address,
        "--query",
        `WebhookId="${webhook.id}"`,
        "--output",
        "json",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const rows = JSON.parse(new TextDecoder().decode(out.stdout) || "[]") as Array<{
      execution: { workflowId: string };
    }>;
    const found = rows.map((r) => r.execution.workflowId).sort();
    return found.length === 2 && found;
  });
  assert.deepEqual(listed, ids);
  const description = await s.herald.temporal.workflow.getHandle(ids[0]!).describe();
  assert.equal(description.typedSearchAttributes.get(WebhookIdKey), webhook.id);
  // The memo keeps the URL's scheme, host and port: its path may hold a secret.
  assert.equal((await description.memo)?.url, new URL(receiver.url).origin);
  await receiver.close();
});

stopStackAfterTests();
