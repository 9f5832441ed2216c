/** Starts Herald's parts in one process: storage, Temporal, the worker and the API. */
import type { Client } from "@temporalio/client";
import protos from "@temporalio/proto";
import { SEARCH_ATTRIBUTES } from "./temporal/names.ts";
import { ensureReconcilerSchedule } from "./temporal/reconciler.ts";
import { ensureRetentionSchedule, matchNamespaceRetention } from "./temporal/retention.ts";
import type { Config } from "./config.ts";
import { type DatabaseHandle, migrateToLatest, openDatabase } from "./db/mod.ts";
import { type DevServer, startDevServer } from "./temporal/dev_server.ts";
import { connectTemporal, temporalClient, type TemporalTarget } from "./temporal/client.ts";
import { createApp } from "./api/app.ts";
import { loadAdminToken } from "./admin_token.ts";
import { type RunningWorker, startWorker } from "../workers/worker.ts";
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

/** Starts Herald; on failure, stops whatever it had started. */
export async function startHerald(config: Config, options: StartOptions): Promise<Herald> {
  const progress = options.progress ?? ((m: string) => console.log(m));
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((err) => log.error("stop failed", { error: String(err) }));
    }
  };
  try {
    checkPortsFree(portsToListenOn(config, options.roles));
    if (!config.databaseUrl || !config.temporal.address || !config.adminToken) {
      await makeDataDirPrivate(config.dataDir);
      // Embedded PostgreSQL writes its files with an explicit mode; the directory (0700) keeps
      // them closed while it runs, and the last step of a stop takes that mode off them.
      cleanups.push(() => makeDataDirPrivate(config.dataDir));
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
      cleanups.push(() => opened.close());
    }
    const applied = await migrateToLatest(database.db);
    progress(
      applied.length
        ? `Applied migrations: ${applied.join(", ")}`
        : "Database schema is up to date.",
    );

    let devServer: DevServer | undefined;
    let address = config.temporal.address;
    if (!address) {
      progress("Starting the embedded Temporal dev server...");
      await Deno.mkdir(config.dataDir, { recursive: true });
      devServer = await startDevServer({
        port: config.temporal.devPort,
        uiPort: config.temporal.uiPort,
        dbFile: `${config.dataDir}/temporal.sqlite`,
        logFile: `${config.dataDir}/temporal.log`,
        namespace: config.temporal.namespace,
        progress,
      });
      const server = devServer;
      cleanups.push(() => server.stop());
      address = devServer.address;
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
      tracing = await startTracing();
      // Last of all: the spans of the stop itself are sent too.
      const installed = tracing;
      cleanups.unshift(() => installed.flush());
      progress("Sending traces over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT).");
    }
    const connection = await connectTemporal(target);
    cleanups.push(() => connection.close());
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

    let worker: RunningWorker | undefined;
    let workerUrl: string | undefined;
    if (options.roles.worker && !options.roles.api) {
      // A worker alone serves its probes on its own port; with the API they are the API's.
      const probes = workerProbesApp({
        db: database.db,
        temporal,
        metricsToken: config.metricsToken,
        workerRunning: () => worker?.running() ?? false,
      });
      const server = serveOn(
        { host: config.host, port: config.workerMetricsPort, variable: "WORKER_METRICS_PORT" },
        probes.fetch,
      );
      cleanups.push(() => server.shutdown());
      workerUrl = httpUrl(config.host, server.addr.port);
    }
    if (options.roles.worker) {
      progress("Starting the Temporal worker...");
      const caCerts = [...(options.caCerts ?? [])];
      if (config.delivery.caFile) caCerts.push(await Deno.readTextFile(config.delivery.caFile));
      worker = await startWorker({
        target,
        connection,
        db: database.db,
        client: temporal,
        caCerts,
        urlPolicy: config.delivery,
        delivery: config.delivery,
        resolve: options.resolve,
        tracing,
      });
      await ensureReconcilerSchedule(
        temporal,
        target.taskQueue,
        config.reconcile.intervalMs,
        config.reconcile.graceMs,
      );
      await ensureRetentionSchedule(temporal, target.taskQueue, config.retentionMs);
      await matchNamespaceRetention(temporal, config.retentionMs, { update: !!devServer });
      const running = worker;
      cleanups.push(() => running.shutdown());
    }

    const adminToken = await loadAdminToken(config.adminToken, config.dataDir);
    let apiUrl: string | undefined;
    if (options.roles.api) {
      const localWorker = worker;
      // Publishers get their answer once the event is committed; this starts the workflows.
      const starter = DeliveryStarter.over({
        db: database.db,
        temporal,
        taskQueue: target.taskQueue,
        // This process's worker polls on the client's connection: a delivery's first workflow
        // task comes back with its start.
        delivery: { ...config.delivery, eagerStart: !!localWorker },
        beforeStart: options.beforeStart,
      }, { traced: !!tracing });
      // Stops after the server (whose requests may still queue starts) and before the connection.
      cleanups.push(() => starter.close(STARTER_DRAIN_MS));
      const app = createApp({
        db: database.db,
        temporal,
        config,
        adminToken: adminToken.token,
        temporalUiUrl: devServer?.uiUrl ?? config.temporal.uiUrl,
        beforeStart: options.beforeStart,
        starter,
        resolve: options.resolve,
        workerRunning: localWorker ? () => localWorker.running() : undefined,
      });
      const server = serveOn({ host: config.host, port: config.port, variable: "PORT" }, app.fetch);
      cleanups.push(() => server.shutdown());
      apiUrl = httpUrl(config.host, server.addr.port);
    }

    let stopped: Promise<void> | undefined;
    return {
      config,
      database,
      temporal,
      temporalAddress: address,
      temporalUiUrl: devServer?.uiUrl,
      apiUrl,
      workerUrl,
      adminToken,
      worker,
      stop: () => (stopped ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
