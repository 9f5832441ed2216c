/**
 * OpenTelemetry traces, read by a real OTLP/HTTP receiver: spans arrive as Herald's exporter sends
 * them (protobuf) and are decoded with the official definitions. One event, published once, is
 * one trace from its API request to each POST of each of its payloads, whether the API and the
 * worker run apart or in one process; no attribute carries a secret or a full URL.
 */
import * as assert from "node:assert/strict";
import root from "@opentelemetry/otlp-transformer/build/src/generated/root.js";
import {
  ADMIN_TOKEN,
  callApi,
  sharedInfra,
  test,
  testEnv,
  usesPostgres,
  waitFor,
} from "./harness.ts";
import { type HeraldProcess, killHard, spawnHerald } from "./processes.ts";
import { startReceiver } from "./receiver.ts";
import { loadConfig } from "../src/config.ts";

/** The official OTLP definitions, as the exporter's own package compiles them (with no types). */
// deno-lint-ignore no-explicit-any
const ExportTraceServiceRequest: { decode(bytes: Uint8Array): any } = (root as any).opentelemetry
  .proto.collector.trace.v1.ExportTraceServiceRequest;

/** One span as received, with its attributes as plain values. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  status: { code: number; message: string };
  attributes: Record<string, string | number | boolean>;
}

/** OTLP span kinds. */
const SERVER = 2;
const CLIENT = 3;
/** OTLP status code of a span that failed. */
const ERROR = 2;

const hex = (bytes: Uint8Array | undefined) =>
  bytes ? [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("") : "";

// deno-lint-ignore no-explicit-any
function plainValue(value: any): string | number | boolean {
  if (value.stringValue !== undefined && value.stringValue !== null) return value.stringValue;
  if (value.intValue !== undefined && value.intValue !== null) return Number(value.intValue);
  if (value.boolValue !== undefined && value.boolValue !== null) return value.boolValue;
  if (value.doubleValue !== undefined && value.doubleValue !== null) return value.doubleValue;
  return JSON.stringify(value);
}

// deno-lint-ignore no-explicit-any
function attributesOf(list: any[] | undefined): Record<string, string | number | boolean> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, plainValue(a.value ?? {})]));
}

/** An OTLP/HTTP receiver on loopback that keeps every span it is sent. */
function startOtlpReceiver() {
  const spans: ReceivedSpan[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method !== "POST" || path !== "/v1/traces") return new Response(null, { status: 404 });
    assert.equal(req.headers.get("content-type"), "application/x-protobuf");
    const request = ExportTraceServiceRequest.decode(new Uint8Array(await req.arrayBuffer()));
    for (const resourceSpans of request.resourceSpans ?? []) {
      const resource = attributesOf(resourceSpans.resource?.attributes ?? []);
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        for (const span of scopeSpans.spans ?? []) {
          spans.push({
            service: String(resource["service.name"]),
            traceId: hex(span.traceId ?? undefined),
            spanId: hex(span.spanId ?? undefined),
            parentSpanId: hex(span.parentSpanId ?? undefined),
            name: span.name ?? "",
            kind: span.kind ?? 0,
            startNs: BigInt(String(span.startTimeUnixNano ?? 0)),
            endNs: BigInt(String(span.endTimeUnixNano ?? 0)),
            status: { code: span.status?.code ?? 0, message: span.status?.message ?? "" },
            attributes: attributesOf(span.attributes ?? []),
          });
        }
      }
    }
    return new Response(new Uint8Array(), {
      headers: { "content-type": "application/x-protobuf" },
    });
  });
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    spans,
    close: () => server.shutdown(),
  };
}

/** The spans of one trace, with helpers to walk it. */
function traceOf(spans: ReceivedSpan[], traceId: string) {
  const all = spans.filter((s) => s.traceId === traceId);
  const named = (name: string) => all.filter((s) => s.name === name);
  const childrenOf = (parent: ReceivedSpan, name?: string) =>
    all.filter((s) => s.parentSpanId === parent.spanId && (!name || s.name === name));
  return { all, named, childrenOf };
}

/** A text picture of a trace: one line per span, children indented under their parent. */
export function renderTrace(spans: ReceivedSpan[]): string {
  const start = spans.reduce((min, s) => (s.startNs < min ? s.startNs : min), spans[0]!.startNs);
  const lines: string[] = [];
  const ms = (ns: bigint) => Number(ns / 1_000_000n);
  const walk = (parentId: string, depth: number) => {
    for (
      const span of spans.filter((s) => s.parentSpanId === parentId).sort((a, b) =>
        a.startNs < b.startNs ? -1 : 1
      )
    ) {
      const shown = ["http.route", "http.response.status_code", "herald.webhook.url", "error.type"]
        .filter((k) => span.attributes[k] !== undefined)
        .map((k) => `${k}=${span.attributes[k]}`);
      lines.push(
        `${"  ".repeat(depth)}${span.name} [${span.service}] +${ms(span.startNs - start)} ms, ` +
          `${ms(span.endNs - span.startNs)} ms${span.status.code === ERROR ? " ERROR" : ""}` +
          (shown.length ? ` ${shown.join(" ")}` : ""),
      );
      walk(span.spanId, depth + 1);
    }
  };
  walk("", 0);
  return lines.join("\n");
}

/** Runs one event through a traced Herald (as `processes`) and checks the trace it leaves. */
async function publishAndCheckTrace(processes: "apart" | "together") {
  const infra = await sharedInfra();
  const otlp = startOtlpReceiver();
  const good = await startReceiver();
  const bad = await startReceiver(() => new Response("no", { status: 500 }));
  const running: HeraldProcess[] = [];
  try {
    const env = testEnv(infra, {
      TEMPORAL_TASK_QUEUE: `herald-traces-${crypto.randomUUID().slice(0, 6)}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: "200",
      DELIVERY_MAX_ATTEMPTS: "2",
      DELIVERY_RETRY_INTERVAL: "300ms",
    });
    if (processes === "apart") {
      running.push(await spawnHerald("worker", { ...env, OTEL_SERVICE_NAME: "herald-worker" }));
      running.push(await spawnHerald("api", { ...env, OTEL_SERVICE_NAME: "herald-api" }));
    } else {
      running.push(await spawnHerald("start", { ...env, OTEL_SERVICE_NAME: "herald" }));
    }
    const apiUrl = running.at(-1)!.apiUrl!;
    const apiService = processes === "apart" ? "herald-api" : "herald";
    const workerService = processes === "apart" ? "herald-worker" : "herald";

    const org = await callApi(apiUrl, "POST", "/v1/organizations", ADMIN_TOKEN, {
      name: "Traced",
      plan: "business",
    });
    assert.equal(org.status, 201);
    const apiKey: string = org.body.apiKey;
    // Secrets where a careless span would pick them up: the URL's path and query, the verify
    // token, a custom header's value; and the signing secret the API hands back.
    const secrets = ["s3cret-path-part", "query-secret-value", "verify-token-secret", "hdr-secret"];
    const webhook = async (url: string) => {
      const created = await callApi(apiUrl, "POST", "/v1/webhooks", apiKey, {
        url: `${url}/s3cret-path-part?token=query-secret-value`,
        verifyToken: "verify-token-secret",
        headers: { "x-api-key": "hdr-secret" },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      secrets.push(created.body.signingSecret);
      return created.body.id as string;
    };
    const goodId = await webhook(good.url);
    const badId = await webhook(bad.url);

    const published = await callApi(apiUrl, "POST", "/v1/events", apiKey, {
      event: "invoice.paid",
      object: "invoice",
      objectId: "inv_traced",
      data: { amount: 4200 },
    });
    assert.equal(published.status, 202);
    const payloadOf = (webhookId: string) =>
      published.body.payloads.find((p: { webhookId: string }) => p.webhookId === webhookId).id;
    for (const [id, status] of [[payloadOf(goodId), "delivered"], [payloadOf(badId), "failed"]]) {
      await waitFor(`payload ${id} ${status}`, async () => {
        const payload = await callApi(apiUrl, "GET", `/v1/payloads/${id}`, apiKey);
        return payload.body?.status === status;
      }, 60_000);
    }

    // The event's request is the root of its trace; everything else hangs under it.
    const request = await waitFor(
      "the span of POST /v1/events",
      () => otlp.spans.find((s) => s.name === "POST /v1/events"),
    );
    assert.equal(request.kind, SERVER);
    assert.equal(request.parentSpanId, "");
    assert.equal(request.service, apiService);
    assert.equal(request.attributes["http.route"], "/v1/events");
    assert.equal(request.attributes["http.response.status_code"], 202);

    // Spans come from two exporters (the worker's and its workflows' sink): wait for all of them.
    const expected = (t: ReturnType<typeof traceOf>) =>
      t.named("RunWorkflow:deliverPayload").length === 2 && t.named("POST").length === 3 &&
      t.named("RunActivity:attemptDelivery").length === 3 &&
      t.named("StartActivity:attemptDelivery").length === 3;
    const trace = await waitFor("the whole trace of the event", () => {
      const t = traceOf(otlp.spans, request.traceId);
      return expected(t) && t;
    }, 30_000);

    const starts = trace.childrenOf(request, "StartWorkflow:deliverPayload");
    assert.equal(starts.length, 2, "one workflow start per payload, under the event's request");
    const runs = starts.map((start) => {
      assert.equal(start.service, apiService);
      const [run, ...more] = trace.childrenOf(start, "RunWorkflow:deliverPayload");
      assert.ok(run && more.length === 0, "each start has its workflow run under it");
      assert.equal(run.service, workerService);
      return run;
    });
    const postsOf = (run: ReceivedSpan) =>
      trace.childrenOf(run, "StartActivity:attemptDelivery").map((scheduled) => {
        const [attempt] = trace.childrenOf(scheduled, "RunActivity:attemptDelivery");
        assert.ok(attempt, "each attempt scheduled by the workflow runs under it");
        assert.equal(attempt.service, workerService);
        const [post, ...more] = trace.childrenOf(attempt, "POST");
        assert.ok(post && more.length === 0, "each attempt makes one POST");
        assert.equal(post.kind, CLIENT);
        assert.ok(post.endNs > post.startNs);
        return post;
      });
    const byStatus = runs.map((run) => ({ run, posts: postsOf(run) }));
    const delivered = byStatus.find((r) => r.posts.length === 1)!;
    const failed = byStatus.find((r) => r.posts.length === 2)!;
    assert.ok(delivered && failed, "one run with one attempt, one with two");

    const [ok] = delivered.posts;
    assert.equal(ok!.attributes["http.response.status_code"], 200);
    assert.equal(ok!.attributes["herald.webhook.url"], new URL(good.url).origin);
    assert.equal(ok!.attributes["server.address"], "127.0.0.1");
    assert.equal(ok!.attributes["url.scheme"], "https");
    assert.notEqual(ok!.status.code, ERROR);
    assert.notEqual(delivered.run.status.code, ERROR);

    for (const post of failed.posts) {
      assert.equal(post.attributes["http.response.status_code"], 500);
      assert.equal(post.attributes["herald.webhook.url"], new URL(bad.url).origin);
      assert.equal(post.attributes["error.type"], "500");
      assert.equal(post.status.code, ERROR);
    }
    assert.equal(failed.run.status.code, ERROR, "the failed delivery's workflow ends in error");

    // A change through the API (an update-with-start of the webhook's lifecycle) is traced from
    // its request into the lifecycle workflow.
    const deactivated = await callApi(apiUrl, "POST", `/v1/webhooks/${goodId}/deactivate`, apiKey);
    assert.equal(deactivated.status, 200, JSON.stringify(deactivated.body));
    assert.equal(deactivated.body.status, "deactivated");
    const change = await waitFor(
      "the span of the deactivation",
      () => otlp.spans.find((s) => s.name === "POST /v1/webhooks/:id/deactivate"),
    );
    const update = await waitFor(
      "the update-with-start under it",
      () =>
        traceOf(otlp.spans, change.traceId).childrenOf(change)
          .find((s) => s.name.startsWith("UpdateWithStartWorkflow:")),
    );
    await waitFor(
      "the lifecycle's handling of the update",
      () =>
        traceOf(otlp.spans, change.traceId).all.some((s) =>
          s.name.startsWith("HandleUpdate:") && s.service === workerService
        ),
    );
    assert.equal(update.service, apiService);

    // No secret and no full URL anywhere, in any span received (the whole run's, not just this
    // trace's), in names, attributes or status messages.
    for (const span of otlp.spans) {
      const texts = [span.name, span.status.message, ...Object.values(span.attributes).map(String)];
      for (const text of texts) {
        for (const secret of [...secrets, apiKey, ADMIN_TOKEN]) {
          assert.ok(!text.includes(secret), `span ${span.name} carries a secret: ${text}`);
        }
        assert.ok(
          !/https?:\/\/[^\s/]+\/\S/.test(text),
          `span ${span.name} has a full URL: ${text}`,
        );
      }
    }
    if (Deno.env.get("TRACES_SHOW")) console.log(renderTrace(trace.all));
  } finally {
    for (const p of running.reverse()) await killHard(p);
    await Promise.all([good.close(), bad.close(), otlp.close()]);
  }
}

test(
  "with the API and the worker apart, one event is one trace from its request to each POST",
  () => publishAndCheckTrace("apart"),
  { ignore: !usesPostgres },
);

test(
  "with the API and the worker in one process, one event is one trace from its request to each POST",
  () => publishAndCheckTrace("together"),
  { ignore: !usesPostgres },
);

test("traces are off unless an OTLP endpoint is set, and Deno's own OpenTelemetry is refused", () => {
  assert.equal(loadConfig({}).traces, false);
  assert.equal(loadConfig({ OTEL_SERVICE_NAME: "herald" }).traces, false);
  assert.equal(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" }).traces, true);
  assert.equal(
    loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces" }).traces,
    true,
  );
  assert.equal(
    loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_SDK_DISABLED: "true" })
      .traces,
    false,
  );
  assert.equal(
    loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
      OTEL_TRACES_EXPORTER: "none",
    })
      .traces,
    false,
  );
  assert.throws(() => loadConfig({ OTEL_DENO: "true" }), /OTEL_DENO: must not be set/);
  assert.equal(loadConfig({ OTEL_DENO: "false" }).traces, false);
});
