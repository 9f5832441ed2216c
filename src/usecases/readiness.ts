/**
 * Whether a process can do its work (PostgreSQL and Temporal answer, its worker runs), and
 * whether any worker polls Herald's task queues.
 */
import type { Client } from "@temporalio/client";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.ts";
import { pingDatabase } from "../db/mod.ts";
import { pingTemporal } from "../temporal/client.ts";
import { describePollers, heraldTaskQueues } from "../temporal/task_queues.ts";
import { withinMs } from "../deadline.ts";

/** How long one check may take before it counts as not answering. */
const CHECK_TIMEOUT_MS = 2_000;

/** How long an answer about pollers is reused, so /readyz and the dashboard stay cheap. */
const POLLERS_TTL_MS = 5_000;

/** What readiness is checked over. */
export interface ReadinessDeps {
  db: Kysely<Database>;
  temporal: Client;
  /** Whether this process's Temporal worker runs; absent where none runs in this process. */
  workerRunning?: () => boolean;
}

/** Each part of a process's readiness; `worker` only where a worker runs in the process. */
export interface Readiness {
  database: boolean;
  temporal: boolean;
  worker?: boolean;
}

async function answers(check: () => Promise<unknown>): Promise<boolean> {
  try {
    await withinMs(check(), CHECK_TIMEOUT_MS, "the check");
    return true;
  } catch {
    return false;
  }
}

/** Checks PostgreSQL, Temporal and, where one runs here, the worker. */
export async function checkReadiness(deps: ReadinessDeps): Promise<Readiness> {
  const [database, temporal] = await Promise.all([
    answers(() => pingDatabase(deps.db)),
    answers(() => pingTemporal(deps.temporal)),
  ]);
  return deps.workerRunning
    ? { database, temporal, worker: deps.workerRunning() }
    : { database, temporal };
}

/** Whether every part answered. */
export function isReady(readiness: Readiness): boolean {
  return readiness.database && readiness.temporal && readiness.worker !== false;
}

/** What is not ready, in words: "PostgreSQL does not answer", ... */
export function notReadyReasons(readiness: Readiness): string[] {
  return [
    ...(readiness.database ? [] : ["PostgreSQL does not answer"]),
    ...(readiness.temporal ? [] : ["Temporal does not answer"]),
    ...(readiness.worker === false ? ["the Temporal worker is not running"] : []),
  ];
}

/** Pollers per task queue of Herald's, asked of Temporal at most once every few seconds. */
export class PollerWatch {
  #last: { at: number; pollers: Promise<Record<string, number> | undefined> } | undefined;
  readonly queues: string[];

  /**
   * `localWorker` tells whether a worker runs in this process (`deno task start`): while it runs,
   * the queues have a worker even before Temporal has seen its first poll.
   */
  constructor(
    readonly temporal: Client,
    taskQueue: string,
    readonly localWorker?: () => boolean,
    readonly ttlMs = POLLERS_TTL_MS,
  ) {
    this.queues = heraldTaskQueues(taskQueue);
  }

  /** Pollers per queue, or undefined when Temporal did not answer. */
  read(): Promise<Record<string, number> | undefined> {
    if (!this.#last || performance.now() - this.#last.at > this.ttlMs) {
      const pollers = withinMs(
        describePollers(this.temporal, this.queues),
        CHECK_TIMEOUT_MS,
        "Temporal's task queue description",
      ).catch(() => undefined);
      this.#last = { at: performance.now(), pollers };
    }
    return this.#last.pollers;
  }

  /** A sentence saying which queues no worker polls, or undefined when each has one. */
  async waitingForWorkers(): Promise<string | undefined> {
    if (this.localWorker?.()) return undefined;
    const pollers = await this.read();
    if (!pollers) return undefined;
    const idle = this.queues.filter((queue) => !pollers[queue]);
    if (!idle.length) return undefined;
    return `No worker polls the task queue${idle.length > 1 ? "s" : ""} ${idle.join(" and ")}: ` +
      "accepted events are stored and wait until a worker runs (deno task worker).";
  }
}
