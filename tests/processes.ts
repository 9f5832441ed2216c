/** Herald as separate processes (`main.ts start|api|worker`), for crash and scale-out tests. */
import { waitFor } from "./harness.ts";

const PROJECT_DIR = new URL("../", import.meta.url).pathname;

/** An API whose deliveries wait a minute between commit and start (tests/pausing_api.ts). */
export const PAUSING_API = "tests/pausing_api.ts";

/**
 * The `deno task <mode>` command line as environment and `deno` arguments, so that processes run
 * exactly what users run (permissions, V8 flags, allocator settings).
 */
export function taskCommand(mode: "start" | "api" | "worker", projectDir = PROJECT_DIR): {
  env: Record<string, string>;
  args: string[];
} {
  const tasks = JSON.parse(Deno.readTextFileSync(`${projectDir}/deno.json`)).tasks;
  const words = (tasks[mode] as string).split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_]+=/.test(words[0]!)) {
    const [name, value] = words.shift()!.split("=", 2) as [string, string];
    env[name] = value;
  }
  if (words.shift() !== "deno") throw new Error(`deno task ${mode} does not run deno`);
  return { env, args: words };
}

/** A Herald process and what it printed. */
export interface HeraldProcess {
  child: Deno.ChildProcess;
  banner: string;
  apiUrl: string | undefined;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit status once the process and its output have ended. */
  exited: Promise<Deno.CommandStatus>;
}

/** Where and how a Herald process runs. */
export interface ProcessOptions {
  /** Extra `deno run` arguments (V8 flags for a profile, say). */
  denoArgs?: string[];
  /** The project to run: this one by default (the benchmark compares earlier versions too). */
  projectDir?: string;
  /** A script run instead of `main.ts` with the task's flags (a test's own entry point). */
  entry?: string;
}

/** The command that runs `deno task <mode>` with only the given environment (plus PATH and HOME). */
export function heraldCommand(
  mode: "start" | "api" | "worker",
  env: Record<string, string>,
  options: ProcessOptions = {},
): Deno.Command {
  const base: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR", "NO_COLOR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) base[name] = value;
  }
  const projectDir = options.projectDir ?? PROJECT_DIR;
  const task = taskCommand(mode, projectDir);
  const [run, ...rest] = task.args;
  const args = options.entry ? rest.map((a) => a === "main.ts" ? options.entry! : a) : rest;
  return new Deno.Command(Deno.execPath(), {
    args: [run!, ...(options.denoArgs ?? []), ...args],
    cwd: projectDir,
    env: { ...base, ...task.env, ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  });
}

function collect(stream: ReadableStream<Uint8Array>) {
  let text = "";
  const done = stream.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (text += chunk) }),
  );
  return { text: () => text, done };
}

/** Spawns Herald and waits for its banner. */
export async function spawnHerald(
  mode: "start" | "api" | "worker",
  env: Record<string, string>,
  options: ProcessOptions = {},
): Promise<HeraldProcess> {
  const child = heraldCommand(mode, env, options).spawn();
  const out = collect(child.stdout);
  const err = collect(child.stderr);
  const exited = Promise.all([child.status, out.done, err.done]).then(([status]) => status);
  // A process that exits before its banner is reported at once, with what it printed.
  const early = child.status.then((status) => {
    throw new Error(`deno task ${mode} exited with code ${status.code} before its banner`);
  });
  const banner = await Promise.race([
    waitFor(`the banner of ${mode}`, () => {
      if (out.text().includes("Press Ctrl+C to stop.")) return out.text();
    }, 180_000),
    early,
  ]).catch(async (e) => {
    try {
      child.kill("SIGKILL");
    } catch {
      // It has exited already: its output says why.
    }
    await Promise.all([out.done, err.done]).catch(() => {});
    throw new Error(`${e.message}\n${out.text()}\n${err.text()}`);
  });
  early.catch(() => {});
  return {
    child,
    banner,
    apiUrl: /API:\s+(http:\/\/\S+)/.exec(banner)?.[1],
    stdout: out.text,
    stderr: err.text,
    exited,
  };
}

/** Kills a process at once (SIGKILL) and waits for it. */
export async function killHard(p: HeraldProcess): Promise<void> {
  try {
    p.child.kill("SIGKILL");
  } catch {
    // Already gone.
  }
  await p.exited;
}
