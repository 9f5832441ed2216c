/** Starts Herald's parts in one process: storage, Temporal, the worker and the API. */
import type { Client } from "@temporalio/client";
import type { NativeConnection } from "@temporalio/worker";
import protos from "@temporalio/proto";
import { SEARCH_ATTRIBUTES } from "./temporal/names.ts";
import { ensureReconcilerSchedule } from "./temporal/reconciler.ts";
import { ensureRetentionSchedule, matchNamespaceRetention } from "./temporal/retention.ts";
import type { Config } from "./config.ts";
import { type DatabaseHandle, migrateToLatest, openDatabase } from "./db/mod.ts";
import { type DevServer, startDevServer } from "./temporal/dev_server.ts";
import { connectTemporal, temporalClient, type TemporalTarget } from "./temporal/client.ts";
import { loadAdminToken } from "./admin_token.ts";
import type { RunningWorker } from "../workers/worker.ts";
import { log } from "./log.ts";
import { makeDataDirPrivate } from "./data_dir.ts";
import type { Resolver } from "./net/url_addresses.ts";
import { ensureNamespace } from "./temporal/namespace.ts";
import { checkPortsFree, httpUrl, type PortUse, serveOn } from "./ports.ts";
import { workerProbesApp } from "./api/probes.ts";
import { DeliveryStarter } from "./usecases/delivery_starter.ts";
import { startTracing, type Tracing } from "./traces/mod.ts";

/** How long a stop waits for queued workflow starts; the reconciler starts what is left. */
const STARTER_DRAIN_MS = 10_000;

/** Which halves run in this process. */
export interface HeraldRoles {
  api: boolean;
  worker: boolean;
}

/** A running Herald. */
export interface Herald {
  config: Config;
  database: DatabaseHandle;
  temporal: Client;
  temporalAddress: string;
  temporalUiUrl: string | undefined;
  apiUrl: string | undefined;
  /** Where a worker that runs without the API serves /healthz, /readyz and /metrics. */
  workerUrl: string | undefined;
  adminToken: { token: string; generated: boolean; file?: string };
  worker: RunningWorker | undefined;
  /** Stops the API (finishing requests in flight), the worker, storage, then Temporal. */
  stop(): Promise<void>;
}

/** Options for tests and tools that bring their own parts. */
export interface StartOptions {
  roles: HeraldRoles;
  progress?: (message: string) => void;
  /** A database opened by the caller (it stays open after stop). */
  database?: DatabaseHandle;
  /** Extra CA certificates (PEM) for deliveries, besides TLS_CA_FILE. */
  caCerts?: string[];
  /** Fault injection handed in by tests: runs between an event's commit and its starts. */
  beforeStart?: () => Promise<void>;
  /** How delivery host names resolve (the system resolver unless a test hands in its own). */
  resolve?: Resolver;
}

/**
 * Registers the delivery search attributes on an external cluster. Where Herald may not (Temporal
 * Cloud registers them in its console), it says so and goes on.
 */
async function registerSearchAttributes(client: Client, progress: (m: string) => void) {
  try {
    await client.connection.operatorService.addSearchAttributes({
      namespace: client.options.namespace,
      searchAttributes: Object.fromEntries(
        SEARCH_ATTRIBUTES.map((
          name,
        ) => [name, protos.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
      ),
    });
  } catch (err) {
    if (/already exists/i.test(String(err))) return;
    log.warn("could not register the search attributes; register them as Keyword", {
      names: SEARCH_ATTRIBUTES,
      error: String(err),
    });
    return;
  }
  await untilSearchAttributesUsable(client);
  progress(`Registered the search attributes ${SEARCH_ATTRIBUTES.join(", ")}.`);
}

/**
 * Waits until the frontend accepts the search attributes in a query. With SQL visibility, a
 * frontend learns of new ones at its next namespace cache refresh (every 2 s by default), and
 * refuses a workflow start that names them before then: the payload would wait for the reconciler.
 */
async function untilSearchAttributesUsable(client: Client, timeoutMs = 15_000) {
  const query = SEARCH_ATTRIBUTES.map((name) => `${name} = ''`).join(" AND ");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.workflowService.countWorkflowExecutions({
        namespace: client.options.namespace,
        query,
      });
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        log.warn(
          "the search attributes are registered, but the frontend does not accept them yet",
          {
            names: SEARCH_ATTRIBUTES,
            error: String(err),
          },
        );
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** The ports this process will listen on, with the variables that set them. */
function portsToListenOn(config: Config, roles: HeraldRoles): PortUse[] {
  const uses: PortUse[] = [];
  if (roles.api) uses.push({ host: config.host, port: config.port, variable: "PORT" });
  else if (roles.worker) {
    uses.push({
      host: config.host,
      port: config.workerMetricsPort,
      variable: "WORKER_METRICS_PORT",
    });
  }
  if (!config.temporal.address) {
    const host = "127.0.0.1";
    uses.push({ host, port: config.temporal.devPort, variable: "TEMPORAL_DEV_PORT" });
    uses.push({ host, port: config.temporal.uiPort, variable: "TEMPORAL_UI_PORT" });
  }
  return uses;
}

/** Stops, run in the reverse order of the starts; those marked last run after all others. */
class Cleanups {
  #stops: Array<() => Promise<void>> = [];
  #last: Array<() => Promise<void>> = [];

  add(stop: () => Promise<void>): void {
    this.#stops.push(stop);
  }

  /** A stop that runs after every other (the traces' flush: the stop's own spans go too). */
  addLast(stop: () => Promise<void>): void {
    this.#last.push(stop);
  }

  async run(): Promise<void> {
    const stops = [...this.#stops.splice(0).reverse(), ...this.#last.splice(0)];
    for (const stop of stops) {
      await stop().catch((err) => log.error("stop failed", { error: String(err) }));
    }
  }
}

/** What every part's start is given. */
interface Start {
  config: Config;
  options: StartOptions;
  progress: (message: string) => void;
  cleanups: Cleanups;
}

/** Temporal as this process reaches it. */
interface TemporalParts {
  devServer: DevServer | undefined;
  address: string;
  target: TemporalTarget;
  connection: NativeConnection;
  temporal: Client;
  tracing: Tracing | undefined;
}

/** Storage: the data directory kept private, the database opened and migrated. */
async function openStorage({ config, options, progress, cleanups }: Start) {
  if (!config.databaseUrl || !config.temporal.address || !config.adminToken) {
    await makeDataDirPrivate(config.dataDir);
    // Embedded PostgreSQL writes its files with an explicit mode; the directory (0700) keeps
    // them closed while it runs, and the last step of a stop takes that mode off them.
    cleanups.add(() => makeDataDirPrivate(config.dataDir));
  }
  let database = options.database;
  if (!database) {
    progress(
      config.databaseUrl
        ? "Connecting to PostgreSQL..."
        : `Opening the embedded PostgreSQL (PGlite) in ${config.dataDir}/pglite...`,
    );
    database = await openDatabase(config);
    const opened = database;
    cleanups.add(() => opened.close());
  }
  const applied = await migrateToLatest(database.db);
  progress(
    applied.length ? `Applied migrations: ${applied.join(", ")}` : "Database schema is up to date.",
  );
  return database;
}

/** Temporal: the embedded dev server unless one is given, traces, the client and its namespace. */
async function startTemporal({ config, progress, cleanups }: Start): Promise<TemporalParts> {
  let devServer: DevServer | undefined;
  let address = config.temporal.address;
  if (!address) {
    progress("Starting the embedded Temporal dev server...");
    await Deno.mkdir(config.dataDir, { recursive: true });
    const server = await startDevServer({
      port: config.temporal.devPort,
      uiPort: config.temporal.uiPort,
      dbFile: `${config.dataDir}/temporal.sqlite`,
      logFile: `${config.dataDir}/temporal.log`,
      namespace: config.temporal.namespace,
      progress,
    });
    cleanups.add(() => server.stop());
    devServer = server;
    address = server.address;
  }
  const target: TemporalTarget = {
    address,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    apiKey: config.temporal.apiKey,
    tls: config.temporal.tls,
  };
  let tracing: Tracing | undefined;
  if (config.traces) {
    const installed = await startTracing();
    cleanups.addLast(() => installed.flush());
    tracing = installed;
    progress("Sending traces over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT).");
  }
  const connection = await connectTemporal(target);
  cleanups.add(() => connection.close());
  const temporal = temporalClient(connection, target.namespace, tracing?.clientInterceptors);
  await ensureNamespace(temporal, {
    address,
    create: config.temporal.createNamespace,
    secured: config.temporal.tls.enabled,
    taskQueue: target.taskQueue,
    // Histories kept as long as their payloads (RETENTION=0 keeps payloads for ever, which
    // Temporal cannot: the default then).
    retentionMs: config.retentionMs || undefined,
    progress,
  });
  if (!devServer) await registerSearchAttributes(temporal, progress);
  return { devServer, address, target, connection, temporal, tracing };
}

/** The worker, its probes when it runs without the API, and the schedules it runs. */
async function startWorkerRole(
  { config, options, progress, cleanups }: Start,
  database: DatabaseHandle,
  t: TemporalParts,
): Promise<{ worker: RunningWorker; workerUrl: string | undefined }> {
  // The probes ask about the worker that starts after them.
  const started: { worker?: RunningWorker } = {};
  let workerUrl: string | undefined;
  if (!options.roles.api) {
    // A worker alone serves its probes on its own port; with the API they are the API's.
    const probes = workerProbesApp({
      db: database.db,
      temporal: t.temporal,
      metricsToken: config.metricsToken,
      workerRunning: () => started.worker?.running() ?? false,
    });
    const server = serveOn(
      { host: config.host, port: config.workerMetricsPort, variable: "WORKER_METRICS_PORT" },
      probes.fetch,
    );
    cleanups.add(() => server.shutdown());
    workerUrl = httpUrl(config.host, server.addr.port);
  }
  progress("Starting the Temporal worker...");
  const caCerts = [...(options.caCerts ?? [])];
  if (config.delivery.caFile) caCerts.push(await Deno.readTextFile(config.delivery.caFile));
  // Each role loads its code only when it runs: a worker alone never holds the API's modules.
  const { startWorker } = await import("../workers/worker.ts");
  const running = await startWorker({
    target: t.target,
    connection: t.connection,
    db: database.db,
    client: t.temporal,
    caCerts,
    delivery: config.delivery,
    resolve: options.resolve,
    tracing: t.tracing,
  });
  cleanups.add(() => running.shutdown());
  started.worker = running;
  const { temporal, target } = t;
  await ensureReconcilerSchedule(
    temporal,
    target.taskQueue,
    config.reconcile.intervalMs,
    config.reconcile.graceMs,
  );
  await ensureRetentionSchedule(temporal, target.taskQueue, config.retentionMs);
  await matchNamespaceRetention(temporal, config.retentionMs, { update: !!t.devServer });
  return { worker: running, workerUrl };
}

/** The API: the delivery starter its requests queue starts on, and the HTTP server. */
async function startApi(
  { config, options, cleanups }: Start,
  database: DatabaseHandle,
  t: TemporalParts,
  worker: RunningWorker | undefined,
  adminToken: string,
): Promise<string> {
  // Publishers get their answer once the event is committed; this starts the workflows.
  const starter = DeliveryStarter.over({
    db: database.db,
    temporal: t.temporal,
    taskQueue: t.target.taskQueue,
    // This process's worker polls on the client's connection: a delivery's first workflow task
    // comes back with its start.
    delivery: { ...config.delivery, eagerStart: !!worker },
    beforeStart: options.beforeStart,
  }, { traced: !!t.tracing });
  // Stops after the server (whose requests may still queue starts) and before the connection.
  cleanups.add(() => starter.close(STARTER_DRAIN_MS));
  const { createApp } = await import("./api/app.ts");
  const app = createApp({
    db: database.db,
    temporal: t.temporal,
    config,
    adminToken,
    temporalUiUrl: t.devServer?.uiUrl ?? config.temporal.uiUrl,
    beforeStart: options.beforeStart,
    starter,
    resolve: options.resolve,
    workerRunning: worker ? () => worker.running() : undefined,
  });
  const server = serveOn({ host: config.host, port: config.port, variable: "PORT" }, app.fetch);
  cleanups.add(() => server.shutdown());
  return httpUrl(config.host, server.addr.port);
}

/** Starts Herald's parts, by role; on failure, stops whatever it had started. */
export async function startHerald(config: Config, options: StartOptions): Promise<Herald> {
  const start: Start = {
    config,
    options,
    progress: options.progress ?? ((m: string) => console.log(m)),
    cleanups: new Cleanups(),
  };
  try {
    checkPortsFree(portsToListenOn(config, options.roles));
    const database = await openStorage(start);
    const t = await startTemporal(start);
    const { worker, workerUrl } = options.roles.worker
      ? await startWorkerRole(start, database, t)
      : { worker: undefined, workerUrl: undefined };
    const adminToken = await loadAdminToken(config.adminToken, config.dataDir);
    const apiUrl = options.roles.api
      ? await startApi(start, database, t, worker, adminToken.token)
      : undefined;
    let stopped: Promise<void> | undefined;
    return {
      config,
      database,
      temporal: t.temporal,
      temporalAddress: t.address,
      temporalUiUrl: t.devServer?.uiUrl,
      apiUrl,
      workerUrl,
      adminToken,
      worker,
      stop: () => (stopped ??= start.cleanups.run()),
    };
  } catch (err) {
    await start.cleanups.run();
    throw err;
  }
}
