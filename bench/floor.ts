/**
 * The floor: what Temporal and an SDK worker cost for the cheapest workflow with one activity (a
 * local activity that returns at once), on the same server and machine as Herald in the same run.
 * Herald's deliveries are one such workflow each, so its sustained rate as a share of the floor's
 * and its CPU per delivery above the floor's are what Herald's own code costs.
 */
import { Client, Connection } from "@temporalio/client";
import { spawnHerald } from "../tests/processes.ts";
import { type ProcessResources, ResourceSampler } from "./resources.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number) => Math.round(n * 10) / 10;

/** Where the floor runs, and the steps it climbs (workflows per second). */
export interface FloorOptions {
  address: string;
  namespace: string;
  steps: number[];
  seconds: number;
  /** The Temporal server's process, sampled beside the floor's worker. */
  temporalPid: () => number | undefined;
  /** Waits until the Temporal server is quiet between steps. */
  settle: () => Promise<void>;
  say: (line: string) => void;
}

/** What the floor measured. */
export interface FloorResult {
  maxSustainedWorkflowsPerSecond: number;
  steps: Array<Record<string, number | boolean>>;
  completed: number;
  cpuMsPerWorkflow: Record<string, number>;
  resources: Record<string, ProcessResources>;
}

/** Runs the floor: a worker process, then open-loop starts at each step until one is not kept up. */
export async function runFloor(options: FloorOptions): Promise<FloorResult> {
  const taskQueue = `bench-floor-${crypto.randomUUID().slice(0, 8)}`;
  const worker = await spawnHerald("worker", {
    TEMPORAL_ADDRESS: options.address,
    TEMPORAL_NAMESPACE: options.namespace,
    FLOOR_TASK_QUEUE: taskQueue,
  }, { entry: "bench/floor/worker.ts" });
  const countUrl = /Count:\s+(\S+)/.exec(worker.banner)![1]!;
  const count = async () => Number(await (await fetch(countUrl)).text());
  const connection = await Connection.connect({ address: options.address });
  const client = new Client({ connection, namespace: options.namespace });
  const sampler = new ResourceSampler({
    worker: () => worker.child.pid,
    temporal: options.temporalPid,
  });
  try {
    let n = 0;
    const start = () =>
      client.workflow.start("floorWorkflow", { taskQueue, workflowId: `${taskQueue}-${n++}` })
        .then(() => {}, () => {});
    // Warm-up: the bundle, the caches and the connection.
    for (let i = 0; i < 50; i++) await start();
    while (await count() < 50) await sleep(100);
    await options.settle();

    const steps: Array<Record<string, number | boolean>> = [];
    let best = 0;
    const before = await count();
    sampler.start();
    for (const rate of options.steps) {
      const stepBefore = await count();
      const begun = performance.now();
      const pending: Promise<void>[] = [];
      const total = rate * options.seconds;
      for (let i = 0; i < total; i++) {
        const wait = begun + (i * 1000) / rate - performance.now();
        if (wait > 0) await sleep(wait);
        pending.push(start());
      }
      await Promise.all(pending);
      await sleep(2_000);
      const got = await count() - stepBefore;
      const sustained = got >= total * 0.95;
      steps.push({
        targetWorkflowsPerSecond: rate,
        workflowsPerSecond: round(got / options.seconds),
        backlog: total - got,
        sustained,
      });
      options.say(`  floor step ${rate}/s: ${got}/${total}`);
      if (!sustained) break;
      best = rate;
      await options.settle();
    }
    // Everything started completes before the CPU is counted, as with Herald's deliveries.
    const deadline = performance.now() + 300_000;
    while (await count() < n && performance.now() < deadline) await sleep(500);
    await options.settle();
    const resources = sampler.stop();
    const completed = await count() - before;
    return {
      maxSustainedWorkflowsPerSecond: best,
      steps,
      completed,
      cpuMsPerWorkflow: Object.fromEntries(
        Object.entries(resources).map((
          [name, r],
        ) => [name, round(r.cpuSeconds * 1000 / completed)]),
      ),
      resources,
    };
  } finally {
    await connection.close();
    worker.child.kill("SIGTERM");
    await worker.exited;
  }
}
