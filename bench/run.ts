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
import {
  childrenOf,
  type ProcessResources,
  read as readProcess,
  ResourceSampler,
} from "./resources.ts";
import { perfAvailable, startProfile } from "./profile.ts";
import { compareVersions, git } from "./compare.ts";
import { runFloor } from "./floor.ts";
import { measureRetention } from "./retention.ts";
import { measureOrdering } from "./ordering.ts";
import { runSoak } from "./soak.ts";
import { renderMarkdown } from "./render.ts";
import { type Sink, startSink, tokenBucket } from "./sinks.ts";
import { percentile, round } from "./stats.ts";

const quick = Deno.args.includes("--quick");
// `--compare ref1,ref2,...`: earlier versions (git refs; `worktree` is the files as they are) too.
const compareIndex = Deno.args.indexOf("--compare");
const compareRefs = compareIndex >= 0
  ? (Deno.args[compareIndex + 1] ?? "").split(",").filter(Boolean)
  : [];
// `--only scenario,...`: just those (ingest, throughput, floor, latency, retryTiming, ordering,
// fanOut, rawLimit, burst, retention, versions, soak), for a quick look while working; the results go
// to bench/tmp/, not to the report. The soak runs only when named: `--only soak [--soak-minutes N]`.
const onlyIndex = Deno.args.indexOf("--only");
const only = onlyIndex >= 0 ? (Deno.args[onlyIndex + 1] ?? "").split(",").filter(Boolean) : [];
const runs = (scenario: string) => only.length === 0 || only.includes(scenario);
const soakIndex = Deno.args.indexOf("--soak-minutes");
const soakMinutes = soakIndex >= 0 ? Number(Deno.args[soakIndex + 1]) : 30;
const benchStarted = performance.now();
const ADMIN = "hadm_bench_admin_token_0123456789";
const serverUrl = Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/postgres";
const say = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = new URL("./", import.meta.url).pathname;

/** The commit checked out, `+changes` when the working tree differs from it; unset outside git. */
async function commitMeasured(): Promise<string | undefined> {
  try {
    const head = await git(["rev-parse", "--short", "HEAD"]);
    const changed = await git(["status", "--porcelain", "--untracked-files=no"]);
    return changed ? `${head}+changes` : head;
  } catch {
    return undefined; // not a git checkout, or no git on this machine
  }
}

/** The code measured: read once at the start, before any scenario runs. */
const commit = await commitMeasured();

/** The machine and run the results come from. */
function machine() {
  return {
    cores: navigator.hardwareConcurrency,
    memoryGb: round(Deno.systemMemoryInfo().total / 1024 ** 3, 1),
    deno: Deno.version.deno,
    herald: VERSION,
    mode: quick ? "quick" : "full",
    date: new Date().toISOString(),
    durationSeconds: Math.round((performance.now() - benchStarted) / 1000),
    commit,
  };
}

/** Writes the results of an `--only` run to bench/tmp/results-only.json. */
async function writeOnlyResults(results: Array<Record<string, unknown>>) {
  await Deno.mkdir(`${dir}tmp`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}tmp/results-only.json`,
    JSON.stringify({ machine: machine(), results }, null, 2) + "\n",
  );
  say("wrote bench/tmp/results-only.json");
}

/**
 * `--only … --into-report`: puts this run's scenarios into bench/results.json in place of the full
 * run's, each marked with the run it comes from (the report says so beside it), and renders
 * BENCHMARKS.md again.
 */
async function intoReport(results: Array<Record<string, unknown>>) {
  const report = JSON.parse(await Deno.readTextFile(`${dir}results.json`));
  const run = machine();
  const measuredAlone = { date: run.date, commit: run.commit, mode: run.mode };
  const replaced = new Set(results.map((r) => r.scenario));
  report.results = [
    ...report.results.filter((r: { scenario: string }) => !replaced.has(r.scenario)),
    ...results.map((r) => ({ ...r, measuredAlone })),
  ];
  await Deno.writeTextFile(`${dir}results.json`, JSON.stringify(report, null, 2) + "\n");
  await Deno.writeTextFile(
    `${dir}../BENCHMARKS.md`,
    renderMarkdown(report.machine, report.results),
  );
  say(`put ${[...replaced].join(", ")} into bench/results.json and BENCHMARKS.md`);
}

/** Retention needs only a database of its own, and no stack. */
async function retentionScenario(): Promise<Record<string, unknown>> {
  say("retention: 100,000 old final payloads with attempts and events, deleted in batches");
  const numbers = await measureRetention(serverUrl, say);
  say(`retention: ${JSON.stringify(numbers)}`);
  return { scenario: "retention", ...numbers, resources: {} };
}

if (only.length > 0 && only.every((scenario) => scenario === "retention")) {
  await writeOnlyResults([await retentionScenario()]);
  Deno.exit(0);
}

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
// `TEMPORAL_ADDRESS` (and `TEMPORAL_NAMESPACE`) measure against a running Temporal instead of the
// embedded dev server; `BENCH_TEMPORAL_PID` names its process, so it is sampled and waited for.
const externalTemporal = Deno.env.get("TEMPORAL_ADDRESS");
const namespace = Deno.env.get("TEMPORAL_NAMESPACE");
const temporal = externalTemporal
  ? { address: externalTemporal, pid: undefined, stop: async () => {} }
  : await startDevServer({ port: 0, progress: () => {} });
/**
 * The Temporal server's process: the dev server is the watchdog shell's child; an external server
 * on this machine is sampled (and waited for) when BENCH_TEMPORAL_PID names it.
 */
const externalPid = Number(Deno.env.get("BENCH_TEMPORAL_PID")) || undefined;
const temporalPid = () =>
  externalPid ?? (temporal.pid === undefined ? undefined : childrenOf(temporal.pid)[0]);
const env = {
  PORT: "0",
  WORKER_METRICS_PORT: "0",
  HERALD_DATA_DIR: await Deno.makeTempDir({ prefix: "herald-bench-" }),
  DATABASE_URL: dbUrl.toString(),
  TEMPORAL_ADDRESS: temporal.address,
  ...(namespace ? { TEMPORAL_NAMESPACE: namespace } : {}),
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
  temporal: temporalPid,
});

async function call(method: string, path: string, token: string, body?: unknown, base = apiUrl) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** An organization with one webhook per URL, made 50 at a time; answers its API key. */
async function organizationAt(urls: string[], base = apiUrl): Promise<string> {
  const org = await call(
    "POST",
    "/v1/organizations",
    ADMIN,
    { name: "bench", plan: "business" },
    base,
  );
  const key = org.body.apiKey as string;
  for (let i = 0; i < urls.length; i += 50) {
    await Promise.all(
      urls.slice(i, i + 50).map((url) => call("POST", "/v1/webhooks", key, { url }, base)),
    );
  }
  return key;
}

/** An organization with `webhooks` webhooks, all on one sink. */
function organizationWith(webhooks: number, sink: Sink, base = apiUrl): Promise<string> {
  return organizationAt(Array.from({ length: webhooks }, (_, i) => `${sink.url}/${i}`), base);
}

const publish = (key: string, i: number, base = apiUrl) =>
  call("POST", "/v1/events", key, {
    event: "bench.item",
    object: "item",
    objectId: `i${i}`,
    data: { i },
  }, base);

/**
 * The rates that throughput and the floor climb (deliveries or workflows per second), the same for
 * both, 10 apart around the machine's limit so that their ratio is read to a tenth.
 */
const RATE_STEPS = quick
  ? [40, 60, 80, 90, 100]
  : [20, 40, 60, 70, 80, 90, 100, 110, 120, 150, 200, 300, 400, 500];

/** Publishes at `perSecond` for `seconds`, open loop; returns each answer's payload ids and time. */
async function openLoop(key: string, perSecond: number, seconds: number, base = apiUrl) {
  const sent: Array<{ at: number; ids: string[] }> = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  const total = Math.round(perSecond * seconds);
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(
      publish(key, i, base).then((a) => {
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

/** Publishes at a rate and measures, for each payload, POST answered → attempt 1 received. */
async function latencyOf(
  key: string,
  sink: Sink,
  perSecond: number,
  seconds: number,
  base = apiUrl,
) {
  const sent = await openLoop(key, perSecond, seconds, base);
  const ids = sent.flatMap((s) => s.ids.map((id) => ({ id, at: s.at })));
  const deadline = performance.now() + 60_000;
  while (ids.some(({ id }) => !sink.firstArrival.has(id)) && performance.now() < deadline) {
    await sleep(20);
  }
  const lat = ids.filter(({ id }) => sink.firstArrival.has(id)).map(({ id, at }) =>
    sink.firstArrival.get(id)! - at
  );
  return {
    delivered: lat.length,
    expected: ids.length,
    p50Ms: round(percentile(lat, 50)),
    p95Ms: round(percentile(lat, 95)),
    p99Ms: round(percentile(lat, 99)),
    maxMs: round(Math.max(...lat)),
  };
}

/** Waits for the backlog to drain and returns how many more deliveries the sink got meanwhile. */
async function drainCounting(sink: Sink): Promise<number> {
  const before = sink.received;
  await drain();
  return sink.received - before;
}

/** Waits until no payload waits for delivery, so one scenario's backlog does not spill into the next. */
async function drain(): Promise<void> {
  const deadline = performance.now() + 300_000;
  while (performance.now() < deadline) {
    const row = await observer.db.selectFrom("payloads").select((eb) =>
      eb.fn.countAll<number>().as("n")
    )
      .where("status", "in", ["pending", "delivering"]).executeTakeFirstOrThrow();
    if (Number(row.n) === 0) return await settle(deadline);
    await sleep(500);
  }
  say("  (the backlog did not drain within 5 minutes)");
}

/**
 * Waits until the Temporal server is quiet too (under a fifth of a core for two seconds): after an
 * overload it still works off its own queues (history, visibility) once every payload has arrived.
 */
async function settle(deadline: number): Promise<void> {
  let quiet = 0;
  while (performance.now() < deadline && quiet < 2) {
    const pid = temporalPid();
    const before = pid ? readProcess(pid)?.cpuSeconds ?? 0 : 0;
    await sleep(1_000);
    const after = pid ? readProcess(pid)?.cpuSeconds ?? 0 : 0;
    quiet = after - before < 0.2 ? quiet + 1 : 0;
  }
}

/** The most requests within one calendar second. */
function peakPerSecond(arrivals: number[]): number {
  const perSecond = new Map<number, number>();
  for (const at of arrivals) {
    const second = Math.floor(at / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  return Math.max(0, ...perSecond.values());
}

/**
 * Imports `contacts` contacts (16 clients, `POST /v1/contacts`) into one webhook whose receiver
 * is a 20-per-second token bucket answering 429 beyond it, and waits until each is delivered or
 * the webhook is deactivated.
 */
async function burstInto(rateLimit: number | null, contacts: number) {
  const sink = await startSink(tokenBucket(20));
  const org = await call("POST", "/v1/organizations", ADMIN, { name: "burst", plan: "business" });
  const key = org.body.apiKey as string;
  const webhook = await call("POST", "/v1/webhooks", key, { url: sink.url, rateLimit });
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < contacts) {
      await call("POST", "/v1/contacts", key, { fields: { email: `c${next++}@example.com` } });
    }
  }));
  const importMs = performance.now() - started;
  const deadline = performance.now() + 300_000;
  let active = true;
  while (sink.deliveredAt.size < contacts && performance.now() < deadline && active) {
    await sleep(1_000);
    active = (await call("GET", `/v1/webhooks/${webhook.body.id}`, key)).body.status === "active";
  }
  const last = Math.max(...sink.deliveredAt.values());
  // When Herald claimed each attempt (its own clock, just before the POST), beside when the
  // receiver, in this busy process, got it.
  const claimed = await observer.db.selectFrom("attempts")
    .innerJoin("payloads", "payloads.id", "attempts.payload_id")
    .select("attempts.started_at").where("payloads.webhook_id", "=", webhook.body.id).execute();
  const run = {
    rateLimit,
    contacts,
    importSeconds: round(importMs / 1000),
    delivered: sink.deliveredAt.size,
    limited: sink.limited,
    peakPerSecond: peakPerSecond(sink.arrivals),
    peakPerSecondSent: peakPerSecond(claimed.map((row) => Number(row.started_at))),
    lastDeliverySeconds: round((last - started) / 1000),
    webhookActive: (await call("GET", `/v1/webhooks/${webhook.body.id}`, key)).body.status ===
      "active",
  };
  say(`  burst, rateLimit ${rateLimit}: ${JSON.stringify(run)}`);
  await sink.close();
  await drain();
  return run;
}

const results: Array<Record<string, unknown>> = [];

const latencyRuns: Array<Record<string, number>> = [];
const latencyResources: Array<Record<string, ProcessResources>> = [];
const oneProcessRuns: Array<Record<string, number>> = [];
const oneProcessResources: Array<Record<string, ProcessResources>> = [];
const latencySeconds = quick ? 3 : 60;

/** Latency at a rate, one webhook per event, with the API and the worker apart. */
async function latencyApart(perSecond: number, thenDrain = true) {
  const sink = await startSink();
  const key = await organizationWith(1, sink);
  sampler.start();
  const run = {
    eventsPerSecond: perSecond,
    seconds: latencySeconds,
    ...await latencyOf(key, sink, perSecond, latencySeconds),
  };
  latencyResources.push(sampler.stop());
  latencyRuns.push(run);
  say(`latency at ${perSecond}/s: ${JSON.stringify(run)}`);
  await sink.close();
  if (thenDrain) await drain();
}

/** The same in one process running both (`deno task start`: eager workflow start). */
async function latencyInOneProcess(perSecond: number, thenDrain = true) {
  const one = await spawnHerald("start", { ...env, TEMPORAL_TASK_QUEUE: "herald-one-process" });
  const oneSampler = new ResourceSampler({
    herald: () => one.child.pid,
    temporal: temporalPid,
  });
  try {
    const sink = await startSink();
    const key = await organizationWith(1, sink, one.apiUrl);
    oneSampler.start();
    const run = {
      eventsPerSecond: perSecond,
      seconds: latencySeconds,
      ...await latencyOf(key, sink, perSecond, latencySeconds, one.apiUrl),
    };
    oneProcessResources.push(oneSampler.stop());
    oneProcessRuns.push(run);
    say(`one process, latency at ${perSecond}/s: ${JSON.stringify(run)}`);
    await sink.close();
    if (thenDrain) await drain();
  } finally {
    await killHard(one);
  }
}

/** Resources of several windows: the highest peak and the sum of CPU. */
function merged(
  windows: Array<Record<string, ProcessResources>>,
): Record<string, ProcessResources> {
  const out: Record<string, ProcessResources> = {};
  for (const window of windows) {
    for (const [name, r] of Object.entries(window)) {
      const m = out[name] ??= { peakRssMb: 0, cpuSeconds: 0, threadCpuSeconds: {} };
      m.peakRssMb = Math.max(m.peakRssMb, r.peakRssMb);
      m.cpuSeconds = round(m.cpuSeconds + r.cpuSeconds, 2);
      for (const [t, cpu] of Object.entries(r.threadCpuSeconds)) {
        m.threadCpuSeconds[t] = round((m.threadCpuSeconds[t] ?? 0) + cpu, 2);
      }
    }
  }
  return out;
}
function record(
  scenario: string,
  numbers: Record<string, unknown>,
  resources: Record<string, ProcessResources> = sampler.stop(),
) {
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
  if (runs("ingest")) {
    const sink = await startSink();
    const key = await organizationWith(1, sink);
    const seconds = quick ? 5 : 30;
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

  // ---- Throughput: increasing delivery rates (10 webhooks per event), with a profile ----------
  let bestSustained = 0;
  if (runs("throughput")) {
    const sink = await startSink();
    const key = await organizationWith(10, sink);
    const steps = RATE_STEPS;
    const seconds = quick ? 5 : 60;
    const stepsOut: Array<Record<string, number | boolean>> = [];
    const profiling = await perfAvailable() && temporalPid() !== undefined;
    if (!profiling) {
      say("  (no CPU profile of the Temporal server: perf missing or server not local)");
    }
    const stopProfile = profiling ? startProfile(temporalPid()!) : undefined;
    sampler.start();
    let delivered = 0;
    for (const rate of steps) {
      const before = sink.received;
      const started = performance.now();
      await openLoop(key, rate / 10, seconds);
      await sleep(2_000);
      const elapsed = (performance.now() - started) / 1000;
      const got = sink.received - before;
      delivered += got;
      const expected = rate * seconds;
      const sustained = got >= expected * 0.95;
      stepsOut.push({
        targetDeliveriesPerSecond: rate,
        deliveriesPerSecond: round(got / seconds),
        backlog: expected - got,
        sustained,
      });
      say(`  throughput step ${rate}/s: ${got}/${expected} in ${round(elapsed)} s`);
      if (!sustained) break;
      bestSustained = rate;
      await drain();
    }
    const temporalProfile = await stopProfile?.();
    delivered += await drainCounting(sink);
    const resources = sampler.stop();
    const cpuMsPerDelivery = Object.fromEntries(
      Object.entries(resources).map((
        [name, r],
      ) => [name, round((r.cpuSeconds * 1000) / delivered)]),
    );
    record("throughput", {
      maxSustainedDeliveriesPerSecond: bestSustained,
      steps: stepsOut,
      delivered,
      cpuMsPerDelivery,
      temporalProfile,
    }, resources);
    await sink.close();
  }

  // ---- The floor: a bare workflow with one local activity, on the same server ----------------
  if (runs("floor")) {
    const floor = await runFloor({
      address: temporal.address,
      namespace: namespace ?? "default",
      steps: RATE_STEPS,
      seconds: quick ? 5 : 60,
      temporalPid,
      settle: () => settle(performance.now() + 300_000),
      say,
    });
    const herald = results.find((r) => r.scenario === "throughput") as
      | { maxSustainedDeliveriesPerSecond: number; cpuMsPerDelivery: Record<string, number> }
      | undefined;
    record("floor", {
      maxSustainedWorkflowsPerSecond: floor.maxSustainedWorkflowsPerSecond,
      steps: floor.steps,
      completed: floor.completed,
      cpuMsPerWorkflow: floor.cpuMsPerWorkflow,
      // Herald against the floor, when the throughput scenario ran in the same run.
      ...(herald && {
        heraldSustainedRatio: round(
          herald.maxSustainedDeliveriesPerSecond / (floor.maxSustainedWorkflowsPerSecond || 1),
        ),
        heraldCpuMsAboveFloor: Object.fromEntries(
          Object.entries(floor.cpuMsPerWorkflow).map(([name, ms]) => [
            name,
            round((herald.cpuMsPerDelivery[name] ?? 0) - ms),
          ]),
        ),
      }),
    }, floor.resources);
  }

  // ---- Latency below saturation: 20 events/s, API and worker apart, then in one process ------
  if (runs("latency")) {
    await latencyApart(20);
    await latencyInOneProcess(20);
  }

  // ---- Retry timing: receivers answering 500, real 5 s interval -----------------------------
  if (runs("retryTiming")) {
    const sink = await startSink(500);
    const key = await organizationWith(quick ? 3 : 10, sink);
    sampler.start();
    const ids: string[] = (await publish(key, 0)).body.payloads.map((p: { id: string }) => p.id);
    const deadline = performance.now() + 40_000;
    while (
      ids.some((id) => (sink.attempts.get(id)?.length ?? 0) < 5) && performance.now() < deadline
    ) await sleep(100);
    const gapsById = ids.map((id) => {
      const times = sink.attempts.get(id) ?? [];
      return times.slice(1).map((t, i) => t - times[i]!);
    });
    const gaps = gapsById.flat();
    const deviations = gaps.map((g) => Math.abs(g - 5_000));
    // By position: the gap after attempt 1 (a local activity, then a timer) is timed by the
    // workflow, the later ones by the activity's retry policy on the server.
    const byPosition = [0, 1, 2, 3].map((k) =>
      round(Math.max(...gapsById.map((g) => g[k] !== undefined ? Math.abs(g[k]! - 5_000) : 0)))
    );
    record("retryTiming", {
      payloads: ids.length,
      gaps: gaps.length,
      meanGapMs: round(gaps.reduce((x, y) => x + y, 0) / gaps.length),
      maxDeviationMs: round(Math.max(...deviations)),
      maxDeviationMsByGap: byPosition,
    });
    await sink.close();
  }

  // ---- Ordering: 10 contacts × 10 updates, one first attempt in four answered 503 -------------
  if (runs("ordering")) {
    say("ordering: 10 contacts × 10 updates, one first attempt in four 503, without and with");
    sampler.start();
    const numbers = await measureOrdering({
      apiUrl,
      adminToken: ADMIN,
      say,
      contacts: 10,
      updates: 10,
    });
    record("ordering", numbers);
    await drain();
  }

  // ---- Fan-out: one event to N webhooks --------------------------------------------------------
  if (runs("fanOut")) {
    const sizes = quick ? [1, 10, 100] : [1, 10, 100, 1000];
    const out: Array<Record<string, number>> = [];
    sampler.start();
    for (const n of sizes) {
      const sink = await startSink();
      const key = await organizationWith(n, sink);
      await sleep(500);
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

  // ---- Raw limit: a plain keep-alive HTTPS POST loop to the same kind of sink ---------------
  if (runs("rawLimit")) {
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

  // ---- Burst: a 1,000-contact import into a receiver that takes 20 a second -----------------
  if (runs("burst")) {
    const out: Array<Record<string, number | boolean | null>> = [];
    sampler.start();
    for (const rateLimit of [null, 15]) out.push(await burstInto(rateLimit, quick ? 300 : 1_000));
    record("burst", { receiverPerSecond: 20, runs: out });
  }

  // ---- Soak: half the sustained rate for half an hour, one receiver in five flaky -----------
  if (only.includes("soak")) {
    // Half the highest sustained rate of the last full run (the report's throughput row).
    const report = JSON.parse(await Deno.readTextFile(`${dir}results.json`));
    const sustained = report.results.find((r: { scenario: string }) => r.scenario === "throughput")
      ?.maxSustainedDeliveriesPerSecond ?? 60;
    sampler.start();
    const soak = await runSoak({
      organization: (urls) => organizationAt(urls),
      publish: async (key, i) =>
        (await publish(key, i)).body.payloads?.map((p: { id: string }) => p.id) ?? [],
      pids: sampler.pids,
      drain,
      notDelivered: async (ids) => {
        let missing = 0;
        for (let k = 0; k < ids.length; k += 1_000) {
          const row = await observer.db.selectFrom("payloads")
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .where("id", "in", ids.slice(k, k + 1_000)).where("status", "!=", "delivered")
            .executeTakeFirstOrThrow();
          missing += Number(row.n);
        }
        return missing;
      },
      say,
    }, { minutes: soakMinutes, deliveriesPerSecond: sustained / 2 });
    record("soak", soak);
  }

  // ---- Retention: 100,000 old rows deleted in batches, in a database of its own --------------
  if (runs("retention")) results.push(await retentionScenario());

  // ---- Versions: the same loads on earlier versions, in this run -----------------------------
  if (compareRefs.length && runs("versions")) {
    say(`Comparing versions: ${compareRefs.join(", ")}`);
    const versions = await compareVersions(compareRefs, {
      env,
      adminToken: ADMIN,
      say,
      settle: drain,
    }, quick);
    results.push({ scenario: "versions", versions, resources: {} });
  }

  // ---- Latency at 100 events/s: last, since it overloads this machine ------------------------
  // Nothing is measured after the last one, so its backlog is left to the teardown.
  if (runs("latency")) {
    await latencyApart(100, !quick);
    if (!quick) await latencyInOneProcess(100, false);
    results.push({ scenario: "latency", runs: latencyRuns, resources: merged(latencyResources) });
    results.push({
      scenario: "oneProcessLatency",
      runs: oneProcessRuns,
      resources: merged(oneProcessResources),
    });
  }
} finally {
  await Promise.all([apiProcess, workerProcess].map(killHard));
  await temporal.stop();
  await observer.close();
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
  await admin.end();
}

if (only.length) {
  await writeOnlyResults(results);
  if (Deno.args.includes("--into-report")) await intoReport(results);
  Deno.exit(0);
}
const measured = machine();
await Deno.writeTextFile(
  `${dir}results.json`,
  JSON.stringify({ machine: measured, results }, null, 2) + "\n",
);
await Deno.writeTextFile(`${dir}../BENCHMARKS.md`, renderMarkdown(measured, results));
say("wrote bench/results.json and BENCHMARKS.md");
Deno.exit(0);
