/** The Temporal worker: polls Herald's task queue and runs deliveries and lifecycles. */
import { bundleWorkflowCode, type NativeConnection, Worker } from "@temporalio/worker";
import type { Client } from "@temporalio/client";
import type { Kysely } from "kysely";
import type { Database } from "../src/db/schema.ts";
import type { TemporalTarget } from "../src/temporal/client.ts";
import { log } from "../src/log.ts";
import { createActivities } from "./activities.ts";
import type { UrlPolicy } from "../src/domain/url_policy.ts";
import type { DeliverySettings } from "../src/temporal/deliveries.ts";

let bundle: ReturnType<typeof bundleWorkflowCode> | undefined;

/** Bundles `workflows/` once per process. */
export function workflowBundle(): ReturnType<typeof bundleWorkflowCode> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: new URL("../workflows/mod.ts", import.meta.url).pathname,
    logger: {
      trace() {},
      debug() {},
      info() {},
      warn() {},
      error: (m: string) => log.error(m),
    } as never,
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
  /** The connection to poll on; the caller closes it after the worker stops. */
  connection: NativeConnection;
  db: Kysely<Database>;
  client: Client;
  /** Extra CA certificates (PEM) trusted for deliveries. */
  caCerts?: string[];
  maxConcurrentActivities?: number;
  urlPolicy: UrlPolicy;
  delivery: DeliverySettings;
}

/** Starts a worker on a connection made beforehand: Worker.create never gives up on one that fails. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { connection } = options;
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
        urlPolicy: options.urlPolicy,
        delivery: options.delivery,
      }),
      maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? 200,
      shutdownGraceTime: "15s",
    });
    const done = worker.run().finally(() => httpClient.close());
    return {
      done,
      async shutdown() {
        if (worker.getState() === "RUNNING") worker.shutdown();
        await done;
      },
    };
  } catch (err) {
    httpClient.close();
    throw err;
  }
}
