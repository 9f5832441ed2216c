/** Logs and metrics, as an operator sees them. */
import assert from "node:assert/strict";
import {
  ADMIN_TOKEN,
  api,
  callApi,
  createOrganization,
  sharedInfra,
  stack,
  stopStackAfterTests,
  test,
  testEnv,
  usesPostgres,
  waitFor,
} from "./harness.ts";
import { killHard, spawnHerald } from "./processes.ts";
import { startReceiver } from "./receiver.ts";
import { setLogLevel, setLogSink } from "../src/log.ts";
import { heraldTaskQueues } from "../src/temporal/task_queues.ts";

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

    // The payload is recorded delivered inside the attempt; its workflow ends just after, and the
    // SDK counts completed workflows only then.
    const metrics = await waitFor("a completed workflow in /metrics", async () => {
      const text = await (await fetch(`${s.apiUrl}/metrics`)).text();
      return /^temporal_workflow_completed\{[^}]*\} [1-9]/m.test(text) && text;
    });
    assert.match(metrics, /^herald_deliveries_total\{outcome="delivered"\} [1-9]\d*$/m);
    assert.match(metrics, /^herald_attempts_total\{outcome="success"\} [1-9]\d*$/m);
    assert.match(metrics, /^herald_attempt_duration_seconds_count [1-9]\d*$/m);
    assert.match(
      metrics,
      /^herald_http_requests_total\{method="POST",route="\/v1\/contacts",status="201"\} [1-9]/m,
    );
    assert.match(metrics, /^herald_payloads\{status="pending"\} \d+$/m);
    assert.match(metrics, /^herald_webhooks\{status="active"\} [1-9]/m);
    // With the API and a worker in one process, the server hands each delivery's first workflow
    // task back with the start's answer (eager start).
    assert.match(metrics, /^herald_delivery_starts_total\{eager="true"\} [1-9]\d*$/m);
    // In one process, the same /metrics shows the worker's side: the Temporal SDK's own metrics,
    // and Temporal's count of the pollers of each of Herald's task queues.
    assert.match(metrics, /^temporal_workflow_completed\{[^}]*\} [1-9]/m);
    for (const queue of heraldTaskQueues(s.taskQueue)) {
      assert.match(
        metrics,
        new RegExp(`^herald_task_queue_pollers\\{queue="${queue}"\\} [1-9]`, "m"),
      );
    }
  } finally {
    setLogSink(previous);
    setLogLevel("error");
    await receiver.close();
  }
});

test(
  "in split mode the worker serves /healthz, /readyz and /metrics on WORKER_METRICS_PORT",
  async () => {
    const infra = await sharedInfra();
    const metricsToken = "metrics-token-0123456789";
    const env = testEnv(infra, {
      TEMPORAL_TASK_QUEUE: `herald-split-${crypto.randomUUID().slice(0, 6)}`,
      METRICS_TOKEN: metricsToken,
      WORKER_METRICS_PORT: "0",
    });
    const [apiProcess, workerProcess] = await Promise.all([
      spawnHerald("api", env),
      spawnHerald("worker", env),
    ]);
    const receiver = await startReceiver();
    try {
      const apiUrl = apiProcess.apiUrl!;
      const workerUrl = /Worker:\s+(http:\/\/\S+)/.exec(workerProcess.banner)?.[1];
      assert.ok(workerUrl, workerProcess.banner);
      assert.equal(workerProcess.apiUrl, undefined, "a worker alone serves no API");
      assert.doesNotMatch(apiProcess.banner, /Worker:/);

      const health = await fetch(`${workerUrl}/healthz`);
      assert.equal(health.status, 200);
      assert.equal((await health.json()).status, "ok");
      const ready = await fetch(`${workerUrl}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), {
        status: "ready",
        database: "ok",
        temporal: "ok",
        worker: "running",
      });
      const elsewhere = await fetch(`${workerUrl}/v1/webhooks`);
      assert.equal(elsewhere.status, 404, "the worker's port serves no API");
      await elsewhere.body?.cancel();

      const org = await callApi(apiUrl, "POST", "/v1/organizations", ADMIN_TOKEN, {
        name: "Split",
        plan: "business",
      });
      await callApi(apiUrl, "POST", "/v1/webhooks", org.body.apiKey, { url: receiver.url });
      await callApi(apiUrl, "POST", "/v1/contacts", org.body.apiKey, { fields: { a: "b" } });
      await waitFor("the delivery", () => receiver.received.length === 1);

      // METRICS_TOKEN guards the worker's /metrics as it guards the API's.
      const refused = await fetch(`${workerUrl}/metrics`);
      assert.equal(refused.status, 401);
      assert.equal((await refused.json()).error.code, "unauthorized");
      const scrape = async (url: string) => {
        const response = await fetch(`${url}/metrics`, {
          headers: { authorization: `Bearer ${metricsToken}` },
        });
        assert.equal(response.status, 200);
        assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
        return await response.text();
      };
      // The delivery counters live in the worker that delivered; the Temporal SDK's own metrics
      // come from the worker's side of the SDK (its workflow ends just after the attempt).
      const workerMetrics = await waitFor(
        "the worker's delivery and workflow counters",
        async () => {
          const text = await scrape(workerUrl);
          return /^herald_deliveries_total\{outcome="delivered"\} 1$/m.test(text) &&
            /^temporal_workflow_completed\{[^}]*\} [1-9]/m.test(text) && text;
        },
      );
      assert.match(workerMetrics, /^herald_attempts_total\{outcome="success"\} 1$/m);
      assert.match(workerMetrics, /^herald_attempt_duration_seconds_count 1$/m);
      assert.match(
        workerMetrics,
        /^temporal_num_pollers\{[^}]*poller_type="workflow_task"[^}]*\} [1-9]/m,
      );
      const apiMetrics = await scrape(apiUrl);
      assert.doesNotMatch(apiMetrics, /^herald_deliveries_total\{/m);
      assert.match(apiMetrics, /^temporal_request\{[^}]*\} [1-9]/m);
      // An API without a worker in its process asks for no eager start.
      assert.match(apiMetrics, /^herald_delivery_starts_total\{eager="false"\} 1$/m);
      assert.match(apiMetrics, /^herald_task_queue_pollers\{queue="herald-split-\w+"\} [1-9]/m);
    } finally {
      await Promise.all([killHard(apiProcess), killHard(workerProcess)]);
      await receiver.close();
    }
  },
  { ignore: !usesPostgres },
);

stopStackAfterTests();
