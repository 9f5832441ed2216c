/** Workflow code still replays the committed histories: a change that breaks running workflows fails here. */
import { Worker } from "@temporalio/worker";
import { historyFromJSON } from "@temporalio/common/lib/proto-utils.js";
import { workflowBundle } from "../workers/worker.ts";
import { test } from "./harness.ts";

const dir = new URL("./histories/", import.meta.url);

for (
  const [file, what] of [
    ["deliver_payload_delivered.json", "a delivered payload"],
    ["deliver_payload_failed.json", "a payload that failed and deactivated its webhook"],
    [
      "webhook_lifecycle_reactivated.json",
      "a webhook deactivated, reactivated by signal, then deleted",
    ],
  ] as const
) {
  test(`the workflows replay the history of ${what}`, async () => {
    const history = historyFromJSON(JSON.parse(await Deno.readTextFile(new URL(file, dir))));
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history);
  });
}
