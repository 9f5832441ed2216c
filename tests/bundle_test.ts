/** The worker's workflow bundle: built once by a child process, cached by the sources' hash. */
import assert from "node:assert/strict";
import { bundleCacheFile, workflowBundle } from "../workers/bundle.ts";
import { test } from "./harness.ts";

test("the workflow bundle comes from a cache file named after the workflow sources", async () => {
  const file = await bundleCacheFile();
  assert.match(file, /node_modules\/\.cache\/herald\/workflows-[0-9a-f]{16}\.js$/);
  const bundle = await workflowBundle();
  // Built (by a child process when missing) into exactly that file, and read back from it.
  assert.equal(await Deno.readTextFile(file), bundle.code);
  for (const name of ["deliverPayload", "webhookLifecycle", "reconcilePayloads"]) {
    assert.ok(bundle.code.includes(name), `${name} is in the bundle`);
  }
  // The same sources give the same file; the name changes with any workflow source.
  assert.equal(await bundleCacheFile(), file);
  const copy = await Deno.makeTempDir({ prefix: "herald-workflows-" });
  const sources = new URL("../workflows/", import.meta.url);
  for (const entry of Deno.readDirSync(sources)) {
    await Deno.copyFile(new URL(entry.name, sources), `${copy}/${entry.name}`);
  }
  const copyUrl = new URL(`file://${copy}/`);
  assert.equal(await bundleCacheFile(copyUrl), file);
  await Deno.writeTextFile(`${copy}/types.ts`, "\n// a change\n", { append: true });
  assert.notEqual(await bundleCacheFile(copyUrl), file);
  await Deno.remove(copy, { recursive: true });
});
