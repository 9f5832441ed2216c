/**
 * The fault suite: a steady stream of events to receivers that are healthy, flapping, slow or
 * dead, while faults are injected one phase at a time; then every accepted payload is reconciled
 * against what the receivers got. Used by `deno task chaos` (full) and a short test.
 */
import postgres from "postgres";
import { type DatabaseHandle, migrateToLatest, openPostgres } from "../../src/db/mod.ts";
import { type DevServer, freePort, startDevServer } from "../../src/temporal/dev_server.ts";
import { ADMIN_TOKEN, waitFor } from "../harness.ts";
import { type HeraldProcess, killHard, PAUSING_API, spawnHerald } from "../processes.ts";
import { type Receiver, startReceiver } from "../receiver.ts";
import { startTcpProxy, type TcpProxy } from "../tcp_proxy.ts";
import { testCertificates } from "../tls.ts";

/** How long and how hard the suite runs. */
export interface ChaosOptions {
  /** PostgreSQL server URL; a fresh database is made on it. */
  serverUrl: string;
  /** Seconds of event stream per phase. */
  phaseSeconds: number;
  /** Events per second in the stream. */
  eventsPerSecond: number;
  /** How many times a repeated fault is injected in its phase. */
  repeats: number;
  /** Seconds PostgreSQL stays unreachable. */
  databaseOutageSeconds: number;
  progress?: (line: string) => void;
}

/** What one phase produced. */
export interface PhaseReport {
  fault: string;
  injected: number;
  eventsAccepted: number;
  payloadsExpected: number;
  delivered: number;
  failed: number;
  cancelled: number;
  failedOrCancelledReasons: Record<string, number>;
  lost: number;
  duplicatesReceived: number;
  duplicateRate: number;
  wrongfulDeactivations: number;
  catchUpSeconds: number;
}

const RECEIVER_KINDS = ["healthy", "flapping", "slow", "dead"] as const;
type ReceiverKind = typeof RECEIVER_KINDS[number];
const DELIVERY_TIMEOUT_MS = 2_000;

function receiverFor(kind: ReceiverKind): Promise<Receiver> {
  return startReceiver(async (_n, req) => {
    const attempt = Number(req.body.deliveryAttempts);
    if (kind === "dead") return new Response("down", { status: 500 });
    // Flapping: the first attempt of each payload fails; slow: it hangs past the timeout.
    if (kind === "flapping" && attempt === 1) return new Response("flap", { status: 500 });
    if (kind === "slow" && attempt === 1) {
      await new Promise((r) => setTimeout(r, DELIVERY_TIMEOUT_MS + 500));
    }
    return new Response("ok");
  });
}

async function json(url: string, method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

/** Runs every phase and returns one report per fault. */
export async function runChaos(options: ChaosOptions): Promise<PhaseReport[]> {
  const say = options.progress ?? (() => {});
  const { caFile } = await testCertificates();
  const dataDir = await Deno.makeTempDir({ prefix: "herald-chaos-" });

  const admin = postgres(options.serverUrl, { max: 1, onnotice: () => {} });
  const dbName = `herald_test_${Date.now()}_chaos`;
  await admin.unsafe(`create database "${dbName}"`);
  await admin.end();
  const direct = new URL(options.serverUrl);
  direct.pathname = `/${dbName}`;
  const observer: DatabaseHandle = openPostgres(direct.toString(), { max: 2 });
  await migrateToLatest(observer.db);
  const proxy: TcpProxy = startTcpProxy({
    hostname: direct.hostname,
    port: Number(direct.port || 5432),
  });
  const proxied = new URL(direct);
  proxied.port = String(proxy.port);

  const temporalPort = freePort();
  const startTemporal = () =>
    startDevServer({
      port: temporalPort,
      dbFile: `${dataDir}/temporal.sqlite`,
      progress: () => {},
    });
  let temporal: DevServer = await startTemporal();

  const env = {
    PORT: "0",
    WORKER_METRICS_PORT: "0",
    HERALD_DATA_DIR: dataDir,
    DATABASE_URL: proxied.toString(),
    TEMPORAL_ADDRESS: temporal.address,
    ADMIN_TOKEN,
    ALLOW_PRIVATE_NETWORKS: "true",
    TLS_CA_FILE: caFile,
    API_RATE_LIMIT: "0",
    DELIVERY_RETRY_INTERVAL: "1s",
    DELIVERY_TIMEOUT: `${DELIVERY_TIMEOUT_MS}ms`,
    RECONCILE_INTERVAL: "2s",
    RECONCILE_GRACE: "4s",
    LOG_LEVEL: "error",
  };
  say("starting one API and two workers");
  const apiProcess = await spawnHerald("api", env);
  const apiUrl = apiProcess.apiUrl!;
  const workers: HeraldProcess[] = await Promise.all([
    spawnHerald("worker", env),
    spawnHerald("worker", env),
  ]);
  let stopping = false;
  // A supervisor: a worker that exits is started again, as a process manager would.
  const supervise = (i: number) => {
    workers[i]!.exited.then(async () => {
      if (stopping) return;
      workers[i] = await spawnHerald("worker", env);
      supervise(i);
    });
  };
  workers.forEach((_, i) => supervise(i));

  const reports: PhaseReport[] = [];
  const phases: Array<[string, (stream: Promise<void>) => Promise<number>]> = [
    ["none (baseline)", () => Promise.resolve(0)],
    [`kill -9 of a worker during retries (x${options.repeats})`, async () => {
      for (let i = 0; i < options.repeats; i++) {
        await sleep((options.phaseSeconds * 1000) / (options.repeats + 1));
        await killHard(workers[i % workers.length]!);
      }
      return options.repeats;
    }],
    [`kill -9 of an API between commit and workflow start (x${options.repeats})`, async () => {
      let done = 0;
      for (let i = 0; i < options.repeats; i++) {
        await killApiBetweenCommitAndStart();
        done++;
      }
      return done;
    }],
    ["restart of the Temporal dev server (SQLite kept)", async () => {
      await sleep((options.phaseSeconds * 1000) / 3);
      await temporal.stop();
      await sleep(1_000);
      // The same ports: the old server's may take a moment more to be free again.
      for (let attempt = 1;; attempt++) {
        try {
          temporal = await startTemporal();
          break;
        } catch (err) {
          if (attempt === 5) throw err;
          await sleep(2_000);
        }
      }
      return 1;
    }],
    [`PostgreSQL unreachable for ${options.databaseOutageSeconds} s`, async () => {
      await sleep((options.phaseSeconds * 1000) / 4);
      proxy.cut();
      await sleep(options.databaseOutageSeconds * 1000);
      proxy.restore();
      return 1;
    }],
  ];

  let crashOrg: { apiKey: string } | undefined;
  async function killApiBetweenCommitAndStart(): Promise<void> {
    const crashing = await spawnHerald("api", env, { entry: PAUSING_API });
    const before = await observer.db.selectFrom("payloads").select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    const request = json(crashing.apiUrl!, "POST", "/v1/events", crashOrg!.apiKey, {
      event: "chaos.crash",
      object: "thing",
      data: {},
    }).catch(() => undefined);
    await waitFor("the commit before the crash", async () => {
      const now = await observer.db.selectFrom("payloads").select((eb) => eb.fn.countAll().as("n"))
        .executeTakeFirstOrThrow();
      return Number(now.n) > Number(before.n);
    }, 20_000);
    await killHard(crashing);
    await request;
  }

  try {
    for (const [fault, inject] of phases) {
      say(`phase: ${fault}`);
      const receivers = Object.fromEntries(
        await Promise.all(RECEIVER_KINDS.map(async (k) => [k, await receiverFor(k)] as const)),
      ) as Record<ReceiverKind, Receiver>;
      const org = await json(apiUrl, "POST", "/v1/organizations", ADMIN_TOKEN, {
        name: fault,
        plan: "business",
      });
      const apiKey = org.body.apiKey as string;
      crashOrg = { apiKey };
      const webhookKind = new Map<string, ReceiverKind>();
      for (const kind of RECEIVER_KINDS) {
        const w = await json(apiUrl, "POST", "/v1/webhooks", apiKey, {
          url: receivers[kind].url,
          name: kind,
        });
        webhookKind.set(w.body.id, kind);
      }

      const accepted: Array<{ id: string; webhookId: string }> = [];
      let events = 0;
      const stream = (async () => {
        const end = Date.now() + options.phaseSeconds * 1000;
        const gap = 1000 / options.eventsPerSecond;
        const inflight: Promise<void>[] = [];
        for (let i = 0; Date.now() < end; i++) {
          inflight.push(
            json(apiUrl, "POST", "/v1/events", apiKey, {
              event: "chaos.item",
              object: "item",
              data: { i },
            })
              .then((a) => {
                if (a.status === 202) {
                  events++;
                  accepted.push(...a.body.payloads);
                }
              }).catch(() => {}),
          );
          await sleep(gap);
        }
        await Promise.all(inflight);
      })();
      const injected = await inject(stream);
      await stream;
      // Payloads created by the crashing API count too: they were committed, so they are owed.
      const crashPayloads = injected && fault.includes("API")
        ? await observer.db.selectFrom("payloads").innerJoin(
          "events",
          "events.id",
          "payloads.event_id",
        )
          .select(["payloads.id", "payloads.webhook_id"]).where("events.type", "=", "chaos.crash")
          .where("payloads.webhook_id", "in", [...webhookKind.keys()]).execute()
        : [];
      for (const p of crashPayloads) accepted.push({ id: p.id, webhookId: p.webhook_id });
      const streamEnded = Date.now();

      const ids = accepted.map((p) => p.id);
      await waitFor("every payload in a final state", async () => {
        if (ids.length === 0) return true;
        const rows = await observer.db.selectFrom("payloads").select("status").where(
          "id",
          "in",
          ids,
        ).execute();
        return rows.every((r) => ["delivered", "failed", "cancelled"].includes(r.status));
      }, 180_000).catch(() => undefined);
      const catchUpSeconds = (Date.now() - streamEnded) / 1000;

      const rows = ids.length
        ? await observer.db.selectFrom("payloads").innerJoin(
          "webhooks",
          "webhooks.id",
          "payloads.webhook_id",
        )
          .select([
            "payloads.id",
            "payloads.status",
            "payloads.webhook_id",
            "webhooks.deactivation_reason",
          ])
          .where("payloads.id", "in", ids).execute()
        : [];
      const acks = new Map<string, number>();
      for (const kind of RECEIVER_KINDS) {
        for (const r of receivers[kind].received) {
          // A receipt counts when the receiver accepted it (its answer would be 200).
          const attempt = Number(r.body.deliveryAttempts);
          const acked = kind === "healthy" || (kind !== "dead" && attempt > 1);
          if (acked) acks.set(r.body._id as string, (acks.get(r.body._id as string) ?? 0) + 1);
        }
      }
      const reasons: Record<string, number> = {};
      let delivered = 0, failed = 0, cancelled = 0, lost = 0, duplicates = 0;
      for (const row of rows) {
        const got = acks.get(row.id) ?? 0;
        if (got > 1) duplicates += got - 1;
        if (row.status === "delivered") {
          delivered++;
          if (got === 0) lost++;
        } else if (row.status === "failed" || row.status === "cancelled") {
          row.status === "failed" ? failed++ : cancelled++;
          const reason = `${row.status}: webhook ${row.deactivation_reason ?? "active"} (${
            webhookKind.get(row.webhook_id)
          })`;
          reasons[reason] = (reasons[reason] ?? 0) + 1;
          if (webhookKind.get(row.webhook_id) !== "dead") lost++;
        } else {
          lost++;
        }
      }
      lost += ids.length - rows.length;
      const hooks = await observer.db.selectFrom("webhooks").select(["id", "status"])
        .where("id", "in", [...webhookKind.keys()]).execute();
      const wrongful = hooks.filter((h) =>
        h.status === "deactivated" && webhookKind.get(h.id) !== "dead"
      ).length;
      const report: PhaseReport = {
        fault,
        injected,
        eventsAccepted: events + (crashPayloads.length ? injected : 0),
        payloadsExpected: ids.length,
        delivered,
        failed,
        cancelled,
        failedOrCancelledReasons: reasons,
        lost,
        duplicatesReceived: duplicates,
        duplicateRate: delivered ? duplicates / delivered : 0,
        wrongfulDeactivations: wrongful,
        catchUpSeconds: Math.round(catchUpSeconds * 10) / 10,
      };
      say(`  ${JSON.stringify(report)}`);
      reports.push(report);
      await Promise.all(RECEIVER_KINDS.map((k) => receivers[k].close()));
    }
  } finally {
    stopping = true;
    await Promise.all([apiProcess, ...workers].map(killHard));
    await temporal.stop();
    await observer.close();
    proxy.close();
    const cleanup = postgres(options.serverUrl, { max: 1, onnotice: () => {} });
    await cleanup.unsafe(`drop database if exists "${dbName}" with (force)`);
    await cleanup.end();
  }
  return reports;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The report as a Markdown table, with the command that produced it. */
export function reliabilityMarkdown(
  reports: PhaseReport[],
  options: ChaosOptions,
  command: string,
): string {
  const lines = [
    "# Reliability",
    "",
    `Produced by \`${command}\` on ${new Date().toISOString().slice(0, 10)} ` +
    `(${navigator.hardwareConcurrency} cores; Deno ${Deno.version.deno}).`,
    "",
    `Each phase streams ${options.eventsPerSecond} events/s for ${options.phaseSeconds} s to a new ` +
    "organization with four webhooks: a healthy receiver, a flapping one (fails the first attempt of " +
    "each payload), a slow one (hangs past the 2 s timeout on the first attempt) and a dead one " +
    "(always 500, so its deactivation is expected). One API and two workers run as separate " +
    "processes against a Temporal dev server and PostgreSQL through a TCP proxy; a supervisor " +
    "restarts a worker that dies. Retry interval 1 s, reconciler every 2 s with a 4 s grace.",
    "",
    "A payload is **lost** when it is not received (with a 200 answer) by a live receiver and not in a " +
    "final status the rules explain. **Duplicates** are extra accepted receipts of one payload " +
    "(at-least-once delivery allows them). **Wrongful deactivations** are deactivations of any " +
    "webhook but the dead one.",
    "",
    "| fault | injected | events accepted | payloads expected | delivered | failed / cancelled (reason) | lost | duplicates (rate) | wrongful deactivations | catch-up |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of reports) {
    const reasons = Object.entries(r.failedOrCancelledReasons).map(([k, v]) =>
      `${v} ${k}`
    ).join("; ") || "0";
    lines.push(
      `| ${r.fault} | ${r.injected} | ${r.eventsAccepted} | ${r.payloadsExpected} | ${r.delivered} | ` +
        `${r.failed} / ${r.cancelled} (${reasons}) | ${r.lost} | ${r.duplicatesReceived} ` +
        `(${
          (r.duplicateRate * 100).toFixed(2)
        } %) | ${r.wrongfulDeactivations} | ${r.catchUpSeconds} s |`,
    );
  }
  const total = reports.reduce(
    (a, r) => ({ lost: a.lost + r.lost, wrongful: a.wrongful + r.wrongfulDeactivations }),
    {
      lost: 0,
      wrongful: 0,
    },
  );
  lines.push("", `Total lost: ${total.lost}. Total wrongful deactivations: ${total.wrongful}.`, "");
  return lines.join("\n");
}
