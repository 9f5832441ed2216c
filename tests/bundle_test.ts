/** The worker's workflow bundle: built once by a child process, cached by the sources' hash. */
import assert from "node:assert/strict";
import { asciiOnly, bundleCacheFile, workflowBundle } from "../workers/bundle.ts";
import { test } from "./harness.ts";
import { WorkflowType } from "../src/temporal/names.ts";

test("the workflow bundle comes from a cache file named after the workflow sources", async () => {
  const file = await bundleCacheFile();
  assert.match(file, /node_modules\/\.cache\/herald\/workflows-[0-9a-f]{16}\.js$/);
  const bundle = await workflowBundle();
  // Built (by a child process when missing) into exactly that file, and read back from it.
  assert.equal(await Deno.readTextFile(file), bundle.code);
  for (const name of Object.values(WorkflowType)) {
    assert.ok(bundle.code.includes(name), `${name} is in the bundle`);
  }
  // The same sources give the same file; the name changes with any workflow source, and with
  // the names module the workflows import.
  assert.equal(await bundleCacheFile(), file);
  const copy = await Deno.makeTempDir({ prefix: "herald-workflows-" });
  const root = new URL("../", import.meta.url);
  for (const dir of ["workflows", "src/temporal"]) {
    await Deno.mkdir(`${copy}/${dir}`, { recursive: true });
    for (const entry of Deno.readDirSync(new URL(`${dir}/`, root))) {
      await Deno.copyFile(new URL(`${dir}/${entry.name}`, root), `${copy}/${dir}/${entry.name}`);
    }
  }
  const copyUrl = new URL(`file://${copy}/`);
  assert.equal(await bundleCacheFile(copyUrl), file);
  await Deno.writeTextFile(`${copy}/workflows/types.ts`, "\n// a change\n", { append: true });
  const changed = await bundleCacheFile(copyUrl);
  assert.notEqual(changed, file);
  await Deno.writeTextFile(`${copy}/src/temporal/names.ts`, "\n// a change\n", { append: true });
  assert.notEqual(await bundleCacheFile(copyUrl), changed);
  await Deno.remove(copy, { recursive: true });
});

test("the bundle is ASCII only (one byte per character in V8), and its escapes mean the same text", async () => {
  const { code } = await workflowBundle();
  assert.equal(/[\u0080-\uffff]/.exec(code), null);
  const text = "Waiting for ct_… — Baagøe 😀";
  assert.equal(/[\u0080-\uffff]/.exec(asciiOnly(text)), null);
  assert.equal(new Function(`return "${asciiOnly(text)}";`)(), text);
  assert.equal(new Function(`return /${asciiOnly("ø+")}/.test("øø");`)(), true);
});
