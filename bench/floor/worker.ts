/**
 * The floor's worker process: a Temporal worker of `workflow.ts` with the deliveries worker's slot
 * and cache settings, and a loopback `/count` of the activities it ran. Spawned with the
 * `deno task worker` command line, so it runs with the flags Herald's worker runs with.
 */
import { NativeConnection, Worker } from "@temporalio/worker";

let ran = 0;

/** The floor's one activity. */
export const floorActivities = {
  noop(): Promise<void> {
    ran++;
    return Promise.resolve();
  },
};

if (import.meta.main) {
  const address = Deno.env.get("TEMPORAL_ADDRESS")!;
  const connection = await NativeConnection.connect({ address });
  const concurrency = 200;
  const worker = await Worker.create({
    connection,
    namespace: Deno.env.get("TEMPORAL_NAMESPACE") ?? "default",
    taskQueue: Deno.env.get("FLOOR_TASK_QUEUE")!,
    workflowsPath: new URL("./workflow.ts", import.meta.url).pathname,
    activities: floorActivities,
    maxConcurrentActivityTaskExecutions: concurrency,
    maxConcurrentLocalActivityExecutions: concurrency,
    maxConcurrentWorkflowTaskExecutions: concurrency,
    maxCachedWorkflows: concurrency * 2,
    debugMode: true,
    isolateExecutionTimeout: "5s",
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(String(ran)),
  );
  console.log(
    `Floor worker.\n  Count: http://127.0.0.1:${server.addr.port}\nPress Ctrl+C to stop.`,
  );
  Deno.addSignalListener("SIGTERM", () => worker.shutdown());
  await worker.run();
  await server.shutdown();
  await connection.close();
}
