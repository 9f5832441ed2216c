/** Workflow code still replays the committed histories: a change that breaks running workflows fails here. */
import assert from "node:assert/strict";
import { Worker } from "@temporalio/worker";
import { historyFromJSON } from "@temporalio/common/lib/proto-utils.js";
import { workflowBundle } from "../workers/bundle.ts";
import { test } from "./harness.ts";

const dir = new URL("./histories/", import.meta.url);

const described: Record<string, string> = {
  "deliver_payload_delivered.json": "a payload delivered by its first attempt",
  "deliver_payload_ordered.json":
    "an ordered payload that waited for the one before it of its object, then was delivered",
  "deliver_payload_failed.json":
    "a payload whose attempts all failed, then deactivated its webhook and failed",
  "webhook_lifecycle_reactivated.json":
    "a webhook deactivated, reactivated by signal, then deleted",
};

const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".json"))
  .sort();

test("every committed history is described and replayed", () => {
  assert.deepEqual(files, Object.keys(described).sort());
});

for (const file of files) {
  test(`the workflows replay the history of ${described[file] ?? file}`, async () => {
    const history = historyFromJSON(JSON.parse(await Deno.readTextFile(new URL(file, dir))));
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history);
  });
}
