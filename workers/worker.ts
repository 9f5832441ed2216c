/** The Temporal worker: polls Herald's task queue and runs deliveries and lifecycles. */
import { bundleWorkflowCode, NativeConnection, Runtime, Worker } from "@temporalio/worker";
import type { Client } from "@temporalio/client";
import type { Kysely } from "kysely";
import type { Database } from "../src/db/schema.ts";
import { type TemporalTarget, tlsOptions } from "../src/temporal/client.ts";
import { log } from "../src/log.ts";
import { createActivities } from "./activities.ts";

let bundle: ReturnType<typeof bundleWorkflowCode> | undefined;
let runtimeInstalled = false;

/** Bundles `workflows/` once per process. */
export function workflowBundle(): ReturnType<typeof bundleWorkflowCode> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: new URL("../workflows/mod.ts", import.meta.url).pathname,
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => log.error(m) } as never,
  });
  return bundle;
}

/** What a running worker offers its owner. */
export interface RunningWorker {
  /** Resolves when the worker has stopped. */
  done: Promise<void>;
  /** Stops polling, lets running activities finish, and closes the connection. */
  shutdown(): Promise<void>;
}

/** Options of one worker. */
export interface WorkerOptions {
  target: TemporalTarget;
  db: Kysely<Database>;
  client: Client;
  /** Extra CA certificates (PEM) trusted for deliveries. */
  caCerts?: string[];
  maxConcurrentActivities?: number;
}

/** Connects and starts a worker; fails fast when Temporal does not answer. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  if (!runtimeInstalled) {
    Runtime.install({
      logger: {
        log() {},
        trace() {},
        debug() {},
        info() {},
        warn: (m: string) => log.warn(m),
        error: (m: string) => log.error(m),
      } as never,
    });
    runtimeInstalled = true;
  }
  // Connect first: Worker.create never gives up on a connection that fails.
  const connection = await NativeConnection.connect({
    address: options.target.address,
    apiKey: options.target.apiKey,
    tls: await tlsOptions(options.target),
  });
  const httpClient = Deno.createHttpClient({ caCerts: options.caCerts ?? [] });
  try {
    const worker = await Worker.create({
      connection,
      namespace: options.target.namespace,
      taskQueue: options.target.taskQueue,
      workflowBundle: await workflowBundle(),
      activities: createActivities({
        db: options.db,
        temporal: options.client,
        taskQueue: options.target.taskQueue,
        httpClient,
      }),
      maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? 200,
      shutdownGraceTime: "15s",
    });
    const done = worker.run().finally(async () => {
      httpClient.close();
      await connection.close();
    });
    return {
      done,
      async shutdown() {
        if (worker.getState() === "RUNNING") worker.shutdown();
        await done;
      },
    };
  } catch (err) {
    httpClient.close();
    await connection.close();
    throw err;
  }
}
