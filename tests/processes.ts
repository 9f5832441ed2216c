/** Herald as separate processes (`main.ts start|api|worker`), for crash and scale-out tests. */
import { waitFor } from "./harness.ts";

const PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
  "--allow-ffi",
  "--allow-net",
  "--allow-run",
];

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

/** The command that runs `main.ts <mode>` with only the given environment (plus PATH and HOME). */
export function heraldCommand(
  mode: string,
  env: Record<string, string>,
  denoArgs: string[] = [],
): Deno.Command {
  const base: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR", "NO_COLOR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) base[name] = value;
  }
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, ...denoArgs, "main.ts", mode],
    env: { ...base, ...env },
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
  denoArgs: string[] = [],
): Promise<HeraldProcess> {
  const child = heraldCommand(mode, env, denoArgs).spawn();
  const out = collect(child.stdout);
  const err = collect(child.stderr);
  const exited = Promise.all([child.status, out.done, err.done]).then(([status]) => status);
  const banner = await waitFor(`the banner of ${mode}`, () => {
    if (out.text().includes("Press Ctrl+C to stop.")) return out.text();
  }, 180_000).catch((e) => {
    child.kill("SIGKILL");
    throw new Error(`${e.message}\n${out.text()}\n${err.text()}`);
  });
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
