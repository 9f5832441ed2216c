/**
 * `deno task bench [--quick]`: measures Herald on this machine and writes bench/results.json and
 * the table in BENCHMARKS.md. The API and the worker run as separate processes against the
 * machine's PostgreSQL (DATABASE_URL, or the local server) and an embedded Temporal dev server.
 */
import postgres from "postgres";
import { migrateToLatest, openPostgres } from "../src/db/mod.ts";
import { startDevServer } from "../src/temporal/dev_server.ts";
import { buildPayloadBody } from "../src/domain/payload_body.ts";
import { signWebhook } from "../src/domain/signature.ts";
import { newSigningSecret } from "../src/domain/secrets.ts";
import { VERSION } from "../src/version.ts";
import { killHard, spawnHerald } from "../tests/processes.ts";
import { testCertificates } from "../tests/tls.ts";
import { childrenOf, ResourceSampler } from "./resources.ts";
import { type Sink, startSink } from "./sinks.ts";

const quick = Deno.args.includes("--quick");
const ADMIN = "hadm_bench_admin_token_0123456789";
const serverUrl = Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/postgres";
const say = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

// ---- The stack ------------------------------------------------------------------------------
say(
  `Herald ${VERSION} benchmark${
    quick ? " (quick)" : ""
  }: starting PostgreSQL database, Temporal, API, worker`,
);
const { caFile } = await testCertificates();
const dbName = `herald_bench_${Date.now()}`;
const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database "${dbName}"`);
const dbUrl = new URL(serverUrl);
dbUrl.pathname = `/${dbName}`;
const observer = openPostgres(dbUrl.toString(), { max: 2 });
await migrateToLatest(observer.db);
const temporal = await startDevServer({ port: 0, progress: () => {} });
const env = {
  PORT: "0",
  HERALD_DATA_DIR: await Deno.makeTempDir({ prefix: "herald-bench-" }),
  DATABASE_URL: dbUrl.toString(),
  TEMPORAL_ADDRESS: temporal.address,
  ADMIN_TOKEN: ADMIN,
  ALLOW_PRIVATE_NETWORKS: "true",
  TLS_CA_FILE: caFile,
  API_RATE_LIMIT: "0",
  LOG_LEVEL: "warn",
};
const [apiProcess, workerProcess] = await Promise.all([
  spawnHerald("api", env),
  spawnHerald("worker", env),
]);
const apiUrl = apiProcess.apiUrl!;
const sampler = new ResourceSampler({
  api: () => apiProcess.child.pid,
  worker: () => workerProcess.child.pid,
  temporal: () => childrenOf(temporal.pid)[0],
});

async function call(method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function organizationWith(webhooks: number, sink: Sink): Promise<string> {
  const org = await call("POST", "/v1/organizations", ADMIN, { name: "bench", plan: "business" });
  const key = org.body.apiKey as string;
  for (let i = 0; i < webhooks; i += 50) {
    await Promise.all(
      Array.from(
        { length: Math.min(50, webhooks - i) },
        (_, j) => call("POST", "/v1/webhooks", key, { url: `${sink.url}/${i + j}` }),
      ),
    );
  }
  return key;
}

const publish = (key: string, i: number) =>
  call("POST", "/v1/events", key, {
    event: "bench.item",
    object: "item",
    objectId: `i${i}`,
    data: { i },
  });

/** Publishes at `perSecond` for `seconds`, open loop; returns each answer's payload ids and time. */
async function openLoop(key: string, perSecond: number, seconds: number) {
  const sent: Array<{ at: number; ids: string[] }> = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  const total = Math.round(perSecond * seconds);
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(
      publish(key, i).then((a) => {
        if (a.status === 202) {
          sent.push({
            at: performance.now(),
            ids: a.body.payloads.map((p: { id: string }) => p.id),
          });
        }
      }).catch(() => {}),
    );
  }
  await Promise.all(pending);
  return sent;
}

/** Waits until no payload waits for delivery, so one scenario's backlog does not spill into the next. */
async function drain(): Promise<void> {
  const deadline = performance.now() + 180_000;
  while (performance.now() < deadline) {
    const row = await observer.db.selectFrom("payloads").select((eb) =>
      eb.fn.countAll<number>().as("n")
    )
      .where("status", "in", ["pending", "delivering"]).executeTakeFirstOrThrow();
    if (Number(row.n) === 0) return;
    await sleep(500);
  }
  say("  (the backlog did not drain within 3 minutes)");
}

const results: Array<Record<string, unknown>> = [];
function record(scenario: string, numbers: Record<string, unknown>) {
  const resources = sampler.stop();
  const entry = { scenario, ...numbers, resources };
  if (Object.values(resources).every((r) => r.peakRssMb === 0)) {
    say("  (no resource samples were taken)");
  }
  results.push(entry);
  say(`${scenario}: ${JSON.stringify(numbers)} resources ${JSON.stringify(resources)}`);
}

try {
  // ---- Warm-up ------------------------------------------------------------------------------
  const warmSink = await startSink();
  const warmKey = await organizationWith(1, warmSink);
  await openLoop(warmKey, 20, quick ? 2 : 5);
  await drain();

  // ---- Ingest: POST /v1/events, closed loop, 1 webhook per organization -----------------------
  {
    const sink = await startSink();
    const key = await organizationWith(1, sink);
    const seconds = quick ? 6 : 30;
    const concurrency = 16;
    const latencies: number[] = [];
    sampler.start();
    const end = performance.now() + seconds * 1000;
    let i = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const a = await publish(key, i++);
        if (a.status === 202) latencies.push(performance.now() - t);
      }
    }));
    record("ingest", {
      concurrency,
      seconds,
      requestsPerSecond: round(latencies.length / seconds),
      p50Ms: round(percentile(latencies, 50)),
      p99Ms: round(percentile(latencies, 99)),
    });
    await drain();
  }

  // ---- Latency: 100 events/s; POST answered → attempt 1 received ------------------------------
  {
    const sink = await startSink();
    const key = await organizationWith(1, sink);
    const perSecond = 100;
    const seconds = quick ? 5 : 60;
    sampler.start();
    const sent = await openLoop(key, perSecond, seconds);
    const ids = sent.flatMap((s) => s.ids.map((id) => ({ id, at: s.at })));
    const deadline = performance.now() + 30_000;
    while (ids.some(({ id }) => !sink.firstArrival.has(id)) && performance.now() < deadline) {
      await sleep(100);
    }
    const lat = ids.filter(({ id }) => sink.firstArrival.has(id)).map(({ id, at }) =>
      sink.firstArrival.get(id)! - at
    );
    record("latency", {
      eventsPerSecond: perSecond,
      seconds,
      delivered: lat.length,
      expected: ids.length,
      p50Ms: round(percentile(lat, 50)),
      p95Ms: round(percentile(lat, 95)),
      p99Ms: round(percentile(lat, 99)),
      maxMs: round(Math.max(...lat)),
    });
    await sink.close();
    await drain();
  }

  // ---- Throughput: increasing delivery rates (10 webhooks per event) --------------------------
  let bestSustained = 0;
  {
    const sink = await startSink();
    const key = await organizationWith(10, sink);
    const steps = quick ? [20, 40, 80] : [20, 40, 60, 80, 100, 150, 200, 300, 400, 500];
    const seconds = quick ? 6 : 60;
    const stepsOut: Array<Record<string, number | boolean>> = [];
    sampler.start();
    for (const rate of steps) {
      const before = sink.received;
      const started = performance.now();
      await openLoop(key, rate / 10, seconds);
      await sleep(2_000);
      const elapsed = (performance.now() - started) / 1000;
      const got = sink.received - before;
      const expected = rate * seconds;
      const sustained = got >= expected * 0.95;
      stepsOut.push({
        targetDeliveriesPerSecond: rate,
        deliveriesPerSecond: round(got / elapsed),
        backlog: expected - got,
        sustained,
      });
      say(`  throughput step ${rate}/s: ${got}/${expected} in ${round(elapsed)} s`);
      if (!sustained) break;
      bestSustained = rate;
      await drain();
    }
    record("throughput", { maxSustainedDeliveriesPerSecond: bestSustained, steps: stepsOut });
    await sink.close();
    await drain();
  }

  // ---- Fan-out: one event to N webhooks --------------------------------------------------------
  {
    const sizes = quick ? [1, 10, 100] : [1, 10, 100, 1000];
    const out: Array<Record<string, number>> = [];
    sampler.start();
    for (const n of sizes) {
      const sink = await startSink();
      const key = await organizationWith(n, sink);
      const t = performance.now();
      const a = await publish(key, 0);
      const ids: string[] = a.body.payloads.map((p: { id: string }) => p.id);
      const deadline = performance.now() + 120_000;
      while (ids.some((id) => !sink.firstArrival.has(id)) && performance.now() < deadline) {
        await sleep(5);
      }
      const last = Math.max(...ids.map((id) => sink.firstArrival.get(id) ?? Infinity));
      out.push({ webhooks: n, lastReceivedMs: round(last - t) });
      await sink.close();
    }
    record("fanOut", { runs: out });
  }

  // ---- Retry timing: receivers answering 500, real 5 s interval -----------------------------
  {
    const sink = await startSink(500);
    const key = await organizationWith(quick ? 3 : 10, sink);
    sampler.start();
    const a = await publish(key, 0);
    const ids: string[] = a.body.payloads.map((p: { id: string }) => p.id);
    const deadline = performance.now() + 40_000;
    while (
      ids.some((id) => (sink.attempts.get(id)?.length ?? 0) < 5) && performance.now() < deadline
    ) await sleep(100);
    const gaps = ids.flatMap((id) => {
      const times = sink.attempts.get(id) ?? [];
      return times.slice(1).map((t, i) => t - times[i]!);
    });
    const deviations = gaps.map((g) => Math.abs(g - 5_000));
    record("retryTiming", {
      payloads: ids.length,
      gaps: gaps.length,
      meanGapMs: round(gaps.reduce((x, y) => x + y, 0) / gaps.length),
      maxDeviationMs: round(Math.max(...deviations)),
    });
    await sink.close();
  }

  // ---- Raw limit: a plain keep-alive HTTPS POST loop to the same kind of sink ---------------
  {
    const sink = await startSink();
    const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(caFile)] });
    const secret = newSigningSecret();
    const body = JSON.stringify(buildPayloadBody({
      payloadId: "pl_raw",
      event: "bench.item",
      payloadCreatedAt: Date.now(),
      attempt: 1,
      firstSentAt: Date.now(),
      object: "item",
      objectId: "i1",
      objectCreatedAt: Date.now(),
      data: { i: 1 },
      verifyToken: null,
    }));
    const seconds = quick ? 5 : 20;
    const concurrency = 32;
    let done = 0;
    sampler.start();
    const end = performance.now() + seconds * 1000;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const ts = Math.floor(Date.now() / 1000);
        const response = await fetch(sink.url, {
          method: "POST",
          client,
          headers: {
            "content-type": "application/json; charset=utf-8",
            "webhook-id": `pl_raw_${done}`,
            "webhook-timestamp": String(ts),
            "webhook-signature": await signWebhook([secret], "pl_raw", ts, body),
          },
          body,
        });
        await response.arrayBuffer();
        done++;
      }
    }));
    const raw = done / seconds;
    record("rawLimit", {
      concurrency,
      seconds,
      requestsPerSecond: round(raw),
      heraldSustainedRatio: round(bestSustained / raw, 3),
    });
    client.close();
    await sink.close();
  }
} finally {
  await Promise.all([apiProcess, workerProcess].map(killHard));
  await temporal.stop();
  await observer.close();
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
  await admin.end();
}

const machine = {
  cores: navigator.hardwareConcurrency,
  memoryGb: round(Deno.systemMemoryInfo().total / 1024 ** 3, 1),
  deno: Deno.version.deno,
  herald: VERSION,
  mode: quick ? "quick" : "full",
  date: new Date().toISOString(),
};
const dir = new URL("./", import.meta.url).pathname;
await Deno.writeTextFile(
  `${dir}results.json`,
  JSON.stringify({ machine, results }, null, 2) + "\n",
);
await Deno.writeTextFile(`${dir}../BENCHMARKS.md`, renderMarkdown(machine, results));
say("wrote bench/results.json and BENCHMARKS.md");
Deno.exit(0);

function renderMarkdown(m: typeof machine, rs: Array<Record<string, unknown>>): string {
  // deno-lint-ignore no-explicit-any
  const get = (name: string) => rs.find((r) => r.scenario === name) as any;
  const res = (r: { resources: Record<string, { peakRssMb: number; cpuSeconds: number }> }) =>
    ["api", "worker", "temporal"].map((p) =>
      `${p} ${r.resources[p]?.peakRssMb} MB / ${r.resources[p]?.cpuSeconds} s`
    )
      .join("; ");
  const ingest = get("ingest"),
    latency = get("latency"),
    tp = get("throughput"),
    fan = get("fanOut"),
    retry = get("retryTiming"),
    raw = get("rawLimit");
  const template = Deno.readTextFileSync(`${dir}BENCHMARKS.template.md`);
  const table = [
    "| scenario | result | peak RSS / CPU seconds (API; worker; Temporal) |",
    "| --- | --- | --- |",
    `| ingest (${ingest.concurrency} clients, ${ingest.seconds} s, 1 webhook per organization) | ${ingest.requestsPerSecond} requests/s, p50 ${ingest.p50Ms} ms, p99 ${ingest.p99Ms} ms | ${
      res(ingest)
    } |`,
    `| latency (${latency.eventsPerSecond} events/s, ${latency.seconds} s): POST answered → attempt 1 received | p50 ${latency.p50Ms} ms, p95 ${latency.p95Ms} ms, p99 ${latency.p99Ms} ms, max ${latency.maxMs} ms (${latency.delivered}/${latency.expected}) | ${
      res(latency)
    } |`,
    `| throughput (10 webhooks per event, steps ${
      tp.steps.map((s: { targetDeliveriesPerSecond: number }) => s.targetDeliveriesPerSecond).join(
        ", ",
      )
    }/s) | highest sustained: ${tp.maxSustainedDeliveriesPerSecond} deliveries/s (${
      tp.steps.map((
        s: { targetDeliveriesPerSecond: number; deliveriesPerSecond: number; sustained: boolean },
      ) => `${s.targetDeliveriesPerSecond}→${s.deliveriesPerSecond}${s.sustained ? "" : " ✗"}`)
        .join(", ")
    }) | ${res(tp)} |`,
    `| fan-out: one event, time until the last webhook has it | ${
      fan.runs.map((r: { webhooks: number; lastReceivedMs: number }) =>
        `${r.webhooks}: ${r.lastReceivedMs} ms`
      ).join("; ")
    } | ${res(fan)} |`,
    `| retry timing (${retry.payloads} payloads answered 500, 5 s interval) | mean gap ${retry.meanGapMs} ms, max deviation ${retry.maxDeviationMs} ms over ${retry.gaps} gaps | ${
      res(retry)
    } |`,
    `| raw limit: plain keep-alive HTTPS POST loop (${raw.concurrency} at once) | ${raw.requestsPerSecond} requests/s; Herald's sustained rate is ${raw.heraldSustainedRatio} of it | - |`,
  ].join("\n");
  return template
    .replace(
      "{{machine}}",
      `${m.cores} cores, ${m.memoryGb} GiB; Deno ${m.deno}; Herald ${m.herald}; ${m.mode} run of ${
        m.date.slice(0, 10)
      }`,
    )
    .replace("{{table}}", table);
}
