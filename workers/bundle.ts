/**
 * The workflow bundle: `workflows/` packed by the SDK's bundler for the worker's sandbox.
 *
 * Bundling loads webpack, which keeps well over 100 MB of the process's memory once it has run.
 * So a worker takes the bundle from a cache file named after a hash of the workflow sources and
 * the SDK version, and builds a missing one in a child process (this module as a script).
 *
 * With traces on, the bundle also holds the SDK's OpenTelemetry workflow interceptors (spans for
 * the workflow and the activities it schedules, sent out through a sink); workflow code itself
 * stays the same, and so do its commands.
 */
import { bundleWorkflowCode } from "@temporalio/worker";
import { log } from "../src/log.ts";

const WORKFLOWS_DIR = new URL("../workflows/", import.meta.url);
const PROJECT_DIR = new URL("../", import.meta.url);

/** A bundle the worker loads into its sandbox. */
export interface WorkflowBundle {
  code: string;
}

/** The SDK's workflow interceptors for OpenTelemetry, bundled when traces are on. */
const TRACING_INTERCEPTORS = new URL(
  "node_modules/@temporalio/interceptors-opentelemetry/lib/workflow-interceptors.js",
  PROJECT_DIR,
).pathname;

/** Which bundle: with or without the tracing interceptors. */
export interface BundleKind {
  traced?: boolean;
}

/** Bundles `workflows/` in this process. */
export async function bundleInProcess(kind: BundleKind = {}): Promise<WorkflowBundle> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: new URL("mod.ts", WORKFLOWS_DIR).pathname,
    workflowInterceptorModules: kind.traced ? [TRACING_INTERCEPTORS] : [],
    logger: {
      trace() {},
      debug() {},
      info() {},
      warn() {},
      error: (m: string) => log.error(m),
    } as never,
  });
  return { code: asciiOnly(code) };
}

/**
 * The bundle with every character outside ASCII written as a `\uXXXX` escape. V8 keeps a string
 * with one such character in two bytes per character, and the worker holds the bundle's text
 * three times (1.7 MB each in one byte). The few there are sit in comments, where the escape is
 * just text, or in string literals, where it means the same character.
 */
export function asciiOnly(code: string): string {
  return code.replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** How `bundleInProcess` turns the SDK's bundle into the cached one; part of the cache key. */
const BUNDLE_FORMAT = "ascii-only";

/** Files outside `workflows/` that workflow code imports as values (pure, bundled with it). */
const SHARED_SOURCES = ["src/temporal/names.ts"];

/**
 * The cache file of the current sources: a hash of every workflow file, the shared files they
 * import and the SDK version. `root` is the project whose sources are hashed.
 */
export async function bundleCacheFile(
  root: URL = PROJECT_DIR,
  kind: BundleKind = {},
): Promise<string> {
  const workflowsDir = new URL("workflows/", root);
  const names = [...Deno.readDirSync(workflowsDir)].map((e) => e.name).filter((n) =>
    n.endsWith(".ts")
  ).sort().map((n) => `workflows/${n}`);
  const imports = JSON.parse(await Deno.readTextFile(new URL("deno.json", PROJECT_DIR))).imports;
  let text = `${BUNDLE_FORMAT}\n${imports["@temporalio/workflow"]}\n${
    imports["@temporalio/worker"]
  }\n`;
  if (kind.traced) text += `${imports["@temporalio/interceptors-opentelemetry"]}\n`;
  for (const name of [...names, ...SHARED_SOURCES]) {
    text += `${name}\n${await Deno.readTextFile(new URL(name, root))}\n`;
  }
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  const hash = [...new Uint8Array(digest)].slice(0, 8).map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  const suffix = kind.traced ? "-traced" : "";
  return new URL(`node_modules/.cache/herald/workflows-${hash}${suffix}.js`, PROJECT_DIR).pathname;
}

const loaded = new Map<boolean, Promise<WorkflowBundle>>();

/**
 * The bundle of the current workflow sources, once per process: from the cache file, else built
 * into it by a child process; in this process when neither works (a read-only project, say).
 */
export function workflowBundle(kind: BundleKind = {}): Promise<WorkflowBundle> {
  const traced = !!kind.traced;
  const cached = loaded.get(traced);
  if (cached) return cached;
  const loading = (async () => {
    const file = await bundleCacheFile(PROJECT_DIR, kind);
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
          ...(traced ? ["--traced"] : []),
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
      return await bundleInProcess(kind);
    }
  })();
  loaded.set(traced, loading);
  loading.catch(() => loaded.delete(traced));
  return loading;
}

if (import.meta.main) {
  // `deno run workers/bundle.ts <file> [--traced]`: writes the bundle there, atomically.
  const kind = { traced: Deno.args.includes("--traced") };
  const file = Deno.args.find((a) => !a.startsWith("--")) ??
    await bundleCacheFile(PROJECT_DIR, kind);
  const { code } = await bundleInProcess(kind);
  await Deno.mkdir(file.slice(0, file.lastIndexOf("/")), { recursive: true });
  const partial = `${file}.${crypto.randomUUID()}.partial`;
  await Deno.writeTextFile(partial, code);
  await Deno.rename(partial, file);
}
