/** The Temporal worker: polls Herald's task queue and runs deliveries and lifecycles. */
import { type NativeConnection, Worker } from "@temporalio/worker";
import { workflowBundle } from "./bundle.ts";
import type { Client } from "@temporalio/client";
import type { Kysely } from "kysely";
import type { Database } from "../src/db/schema.ts";
import type { TemporalTarget } from "../src/temporal/client.ts";
import { createActivities } from "./activities.ts";
import { log } from "../src/log.ts";
import { DeadlineExceeded, withinMs } from "../src/deadline.ts";
import type { UrlPolicy } from "../src/domain/url_policy.ts";
import type { Resolver } from "../src/net/url_addresses.ts";
import { startEgressProxy } from "./egress.ts";
import { httpDestination } from "./send.ts";
import type { DeliverySettings } from "../src/temporal/deliveries.ts";
import { lifecycleTaskQueue } from "../src/temporal/names.ts";
import type { Tracing } from "../src/traces/mod.ts";
import { tracedDestination } from "../src/traces/spans.ts";

/** How long running attempts may finish after a stop, and how long a stop waits in all. */
const SHUTDOWN_GRACE_MS = 15_000;
const SHUTDOWN_LIMIT_MS = SHUTDOWN_GRACE_MS + 10_000;

/** What a running worker offers its owner. */
export interface RunningWorker {
  /** Resolves when the worker has stopped. */
  done: Promise<void>;
  /** Whether every task queue's worker is running (not starting, stopping or stopped). */
  running(): boolean;
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
  /** How deliveries are made, and which URLs they may go to. */
  delivery: DeliverySettings & UrlPolicy;
  /** How delivery host names resolve; tests hand in their own. */
  resolve?: Resolver;
  /** Traces, when they are on: spans for workflows, activities and each POST. */
  tracing?: Tracing;
}

/**
 * Where attempts send: HTTPS clients whose every connection goes through the egress proxy, which
 * connects only to the address it checked.
 */
function deliveryDestination(options: WorkerOptions) {
  const egress = startEgressProxy({
    policy: options.delivery,
    resolve: options.resolve,
    // Half the attempt's time for the lookup, so a hung resolver is recorded as such.
    lookupTimeoutMs: Math.ceil(options.delivery.timeoutMs / 2),
  });
  const destination = httpDestination({
    urlPolicy: options.delivery,
    egress,
    caCerts: options.caCerts,
  });
  return {
    destination,
    close: () => {
      destination.close();
      egress.close();
    },
  };
}

/** Starts a worker on a connection made beforehand: Worker.create never gives up on one that fails. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { connection, tracing } = options;
  const { destination, close: closeClients } = deliveryDestination(options);
  try {
    const bundle = await workflowBundle({ traced: !!tracing });
    const activities = createActivities({
      db: options.db,
      temporal: options.client,
      taskQueue: options.target.taskQueue,
      destination: tracing ? tracedDestination(destination) : destination,
      delivery: options.delivery,
    });
    const concurrency = options.maxConcurrentAttempts ?? 200;
    const common = {
      connection,
      namespace: options.target.namespace,
      workflowBundle: bundle,
      activities,
      shutdownGraceTime: `${SHUTDOWN_GRACE_MS}ms` as const,
      // Workflows run in this thread's V8 (the SDK's `debugMode`) instead of a worker thread per
      // task queue: each such thread is an isolate of about 45 MB, and the workflows are small.
      // The deadlock detector stays on: an activation that runs over 5 s fails its task.
      debugMode: true,
      isolateExecutionTimeout: "5s",
      ...tracing?.worker,
    };
    // Deliveries and lifecycles poll separate queues: a backlog of one never delays the other.
    const workers = [
      await Worker.create({
        ...common,
        taskQueue: options.target.taskQueue,
        // Attempts run as local activities inside a workflow task, which holds its slot
        // while the receiver answers: as many slots as attempts may run at once.
        maxConcurrentActivityTaskExecutions: concurrency,
        maxConcurrentLocalActivityExecutions: concurrency,
        maxConcurrentWorkflowTaskExecutions: concurrency,
        // Deliveries waiting for a retry stay cached up to this many; others replay on wake-up.
        // Each costs about 0.4 MB, but a cache only as large as the slots thrashed under a
        // backlog (BENCHMARKS.md, worker memory).
        maxCachedWorkflows: concurrency * 2,
      }),
      await Worker.create({
        ...common,
        taskQueue: lifecycleTaskQueue(options.target.taskQueue),
        maxCachedWorkflows: 50,
      }),
    ];
    const done = Promise.all(workers.map((w) => w.run())).then(() => {}).finally(closeClients);
    return {
      done,
      running: () => workers.every((worker) => worker.getState() === "RUNNING"),
      async shutdown() {
        for (const worker of workers) if (worker.getState() === "RUNNING") worker.shutdown();
        // Bounded: a stop never waits on the SDK for ever. Past the grace time, whatever was
        // still running is Temporal's to retry on another worker.
        try {
          await withinMs(done, SHUTDOWN_LIMIT_MS, "the Temporal worker's stop");
        } catch (err) {
          if (!(err instanceof DeadlineExceeded)) throw err;
          log.error("the Temporal worker did not stop in time; stopping without it", {
            waitedMs: SHUTDOWN_LIMIT_MS,
          });
        }
      },
    };
  } catch (err) {
    closeClients();
    throw err;
  }
}
