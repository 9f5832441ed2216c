/** The Temporal worker: polls Herald's task queue and runs deliveries and lifecycles. */
import { type NativeConnection, Worker } from "@temporalio/worker";
import { workflowBundle } from "./bundle.ts";
import type { Client } from "@temporalio/client";
import type { Kysely } from "kysely";
import type { Database } from "../src/db/schema.ts";
import type { TemporalTarget } from "../src/temporal/client.ts";
import { createActivities } from "./activities.ts";
import type { UrlPolicy } from "../src/domain/url_policy.ts";
import { type DeliverySettings, lifecycleTaskQueue } from "../src/temporal/deliveries.ts";

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
  /** Attempts that may run at once; 200 by default. */
  maxConcurrentAttempts?: number;
  urlPolicy: UrlPolicy;
  delivery: DeliverySettings;
}

/** Starts a worker on a connection made beforehand: Worker.create never gives up on one that fails. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { connection } = options;
  const httpClient = Deno.createHttpClient({ caCerts: options.caCerts ?? [] });
  try {
    const bundle = await workflowBundle();
    const activities = createActivities({
      db: options.db,
      temporal: options.client,
      taskQueue: options.target.taskQueue,
      httpClient,
      urlPolicy: options.urlPolicy,
      delivery: options.delivery,
    });
    const concurrency = options.maxConcurrentAttempts ?? 200;
    const common = {
      connection,
      namespace: options.target.namespace,
      workflowBundle: bundle,
      activities,
      shutdownGraceTime: "15s" as const,
    };
    // Deliveries and lifecycles poll separate queues: a backlog of one never delays the other.
    const workers = [
      await Worker.create({
        ...common,
        taskQueue: options.target.taskQueue,
        maxConcurrentActivityTaskExecutions: concurrency,
        // Deliveries waiting for a retry stay cached up to this many; others replay on wake-up.
        maxCachedWorkflows: concurrency * 2,
      }),
      await Worker.create({
        ...common,
        taskQueue: lifecycleTaskQueue(options.target.taskQueue),
        maxCachedWorkflows: 50,
      }),
    ];
    const done = Promise.all(workers.map((w) => w.run())).then(() => {}).finally(() =>
      httpClient.close()
    );
    return {
      done,
      async shutdown() {
        for (const worker of workers) if (worker.getState() === "RUNNING") worker.shutdown();
        await done;
      },
    };
  } catch (err) {
    httpClient.close();
    throw err;
  }
}
