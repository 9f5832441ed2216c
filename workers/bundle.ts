/**
 * The workflow bundle: `workflows/` packed by the SDK's bundler for the worker's sandbox.
 *
 * Bundling loads webpack, which keeps well over 100 MB of the process's memory once it has run.
 * So a worker takes the bundle from a cache file named after a hash of the workflow sources and
 * the SDK version, and builds a missing one in a child process (this module as a script).
 */
import { bundleWorkflowCode } from "@temporalio/worker";
import { log } from "../src/log.ts";

const WORKFLOWS_DIR = new URL("../workflows/", import.meta.url);
const PROJECT_DIR = new URL("../", import.meta.url);

/** A bundle the worker loads into its sandbox. */
export interface WorkflowBundle {
  code: string;
}

/** Bundles `workflows/` in this process. */
export async function bundleInProcess(): Promise<WorkflowBundle> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: new URL("mod.ts", WORKFLOWS_DIR).pathname,
    logger: {
      trace() {},
      debug() {},
      info() {},
      warn() {},
      error: (m: string) => log.error(m),
    } as never,
  });
  return { code };
}

/** Files outside `workflows/` that workflow code imports as values (pure, bundled with it). */
const SHARED_SOURCES = ["src/temporal/names.ts"];

/**
 * The cache file of the current sources: a hash of every workflow file, the shared files they
 * import and the SDK version. `root` is the project whose sources are hashed.
 */
export async function bundleCacheFile(root: URL = PROJECT_DIR): Promise<string> {
  const workflowsDir = new URL("workflows/", root);
  const names = [...Deno.readDirSync(workflowsDir)].map((e) => e.name).filter((n) =>
    n.endsWith(".ts")
  ).sort().map((n) => `workflows/${n}`);
  const imports = JSON.parse(await Deno.readTextFile(new URL("deno.json", PROJECT_DIR))).imports;
  let text = `${imports["@temporalio/workflow"]}\n${imports["@temporalio/worker"]}\n`;
  for (const name of [...names, ...SHARED_SOURCES]) {
    text += `${name}\n${await Deno.readTextFile(new URL(name, root))}\n`;
  }
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  const hash = [...new Uint8Array(digest)].slice(0, 8).map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  return new URL(`node_modules/.cache/herald/workflows-${hash}.js`, PROJECT_DIR).pathname;
}

let loaded: Promise<WorkflowBundle> | undefined;

/**
 * The bundle of the current workflow sources, once per process: from the cache file, else built
 * into it by a child process; in this process when neither works (a read-only project, say).
 */
export function workflowBundle(): Promise<WorkflowBundle> {
  loaded ??= (async () => {
    const file = await bundleCacheFile();
    try {
      return { code: await Deno.readTextFile(file) };
    } catch {
      // Not built yet for these sources.
    }
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-read",
          "--allow-write",
          "--allow-env",
          "--allow-sys",
          "--allow-ffi",
          new URL(import.meta.url).pathname,
          file,
        ],
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).slice(-2000));
      return { code: await Deno.readTextFile(file) };
    } catch (err) {
      log.warn("could not build the workflow bundle in a child process; bundling here", {
        error: String(err),
      });
      return await bundleInProcess();
    }
  })();
  loaded.catch(() => (loaded = undefined));
  return loaded;
}

if (import.meta.main) {
  // `deno run workers/bundle.ts <file>`: writes the bundle there, atomically.
  const file = Deno.args[0] ?? await bundleCacheFile();
  const { code } = await bundleInProcess();
  await Deno.mkdir(file.slice(0, file.lastIndexOf("/")), { recursive: true });
  const partial = `${file}.${crypto.randomUUID()}.partial`;
  await Deno.writeTextFile(partial, code);
  await Deno.rename(partial, file);
}
