/** The embedded Temporal: the Temporal CLI's dev server, installed on first use, run as a child. */
import { SEARCH_ATTRIBUTES } from "./names.ts";
import { connectTemporal } from "./client.ts";

/** The Temporal CLI version Herald installs: later tags cannot be installed with `go install`. */
export const TEMPORAL_CLI_VERSION = "v1.5.1";
const CLI_MODULE = "github.com/temporalio/cli/cmd/temporal";

/**
 * The dynamic config Herald recommends for its Temporal server; `dynamic_config.yaml` beside this
 * file gives a cluster the same values (a test keeps the two equal).
 */
export const RECOMMENDED_DYNAMIC_CONFIG = {
  // Eager activity dispatch: an activity scheduled by a workflow task comes back in the answer to
  // that task's completion when the worker has a free slot, instead of through the task queue.
  "system.enableActivityEagerExecution": true,
  // One partition per task queue: on one machine, tasks match their pollers at once.
  "matching.numTaskqueueReadPartitions": 1,
  "matching.numTaskqueueWritePartitions": 1,
} as const;

/** A running dev server. */
export interface DevServer {
  address: string;
  uiUrl: string | undefined;
  namespace: string;
  /** The process id of the watchdog shell whose child is the server. */
  pid: number;
  /** Stops the server and waits for it to exit. */
  stop(): Promise<void>;
}

/** Options of the dev server. */
export interface DevServerOptions {
  /** Frontend port; 0 picks a free one. */
  port: number;
  /** Web UI port; 0 picks a free one; undefined runs without the UI. */
  uiPort?: number;
  /** SQLite file; undefined keeps everything in memory. */
  dbFile?: string;
  namespace?: string;
  /** Where the server's own output goes. */
  logFile?: string;
  /** Reports progress: installing, starting. */
  progress?: (message: string) => void;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function which(command: string): Promise<string | undefined> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `command -v ${command}`],
    stdout: "piped",
  })
    .output();
  const path = new TextDecoder().decode(out.stdout).trim();
  return out.success && path ? path : undefined;
}

/** Finds the Temporal CLI on the PATH or in `./.bin/`, installing it there with Go when missing. */
export async function ensureTemporalCli(
  progress: (m: string) => void = console.log,
): Promise<string> {
  const local = `${Deno.cwd()}/.bin/temporal`;
  if (await exists(local)) return local;
  const onPath = await which("temporal");
  if (onPath) return onPath;

  const go = (await which("go")) ??
    ((await exists("/usr/local/go/bin/go")) ? "/usr/local/go/bin/go" : undefined);
  if (!go) {
    throw new Error(
      "The Temporal CLI is needed for the embedded Temporal server, and neither it nor Go was found. " +
        "Install it one of these ways, then start Herald again:\n" +
        `  - with Go: GOBIN=$PWD/.bin go install ${CLI_MODULE}@${TEMPORAL_CLI_VERSION}\n` +
        "  - put a `temporal` binary (https://docs.temporal.io/cli) on the PATH or in ./.bin/\n" +
        "  - or point Herald at a running Temporal with TEMPORAL_ADDRESS",
    );
  }
  progress(
    `Installing the Temporal CLI ${TEMPORAL_CLI_VERSION} into ./.bin with go install ` +
      "(first time only: usually 3 to 8 minutes on 2 cores; later runs reuse it)...",
  );
  const started = Date.now();
  const result = await new Deno.Command(go, {
    args: ["install", `${CLI_MODULE}@${TEMPORAL_CLI_VERSION}`],
    env: { GOBIN: `${Deno.cwd()}/.bin`, GOFLAGS: "-mod=mod" },
    stdout: "inherit",
    stderr: "piped",
  }).output();
  if (!result.success || !(await exists(local))) {
    const stderr = new TextDecoder().decode(result.stderr).split("\n").slice(-15).join("\n");
    throw new Error(`Installing the Temporal CLI failed:\n${stderr}`);
  }
  progress(`Installed the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s.`);
  return local;
}

/** A TCP port nobody listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Starts `temporal server start-dev` with the search attributes registered, and waits until it
 * answers. The server runs under a small shell that kills it when Herald's end of its stdin
 * closes, which also happens when Herald dies: no server outlives Herald.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const progress = options.progress ?? console.log;
  const cli = await ensureTemporalCli(progress);
  const port = options.port || freePort();
  const namespace = options.namespace ?? "default";
  const args = ["server", "start-dev", "--ip", "127.0.0.1", "--port", String(port)];
  args.push("--namespace", namespace, "--log-level", "warn");
  for (const name of SEARCH_ATTRIBUTES) args.push("--search-attribute", `${name}=Keyword`);
  for (const [key, value] of Object.entries(RECOMMENDED_DYNAMIC_CONFIG)) {
    args.push("--dynamic-config-value", `${key}=${JSON.stringify(value)}`);
  }
  if (options.dbFile) {
    // Write-ahead logging without an fsync per commit: the server spends its time serving,
    // not waiting on the disk. A power cut may lose the last moments; a crash of a process does not.
    args.push("--db-filename", options.dbFile);
    args.push("--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal");
  }
  let uiUrl: string | undefined;
  if (options.uiPort === undefined) {
    args.push("--headless");
  } else {
    const uiPort = options.uiPort || freePort();
    args.push("--ui-port", String(uiPort));
    uiUrl = `http://127.0.0.1:${uiPort}`;
  }
  args.push("--http-port", String(freePort()), "--metrics-port", String(freePort()));

  const logTarget = options.logFile ? `>>'${options.logFile}' 2>&1` : ">/dev/null 2>&1";
  // The shell ends with the server; its background reader kills the server when Herald's end
  // of stdin closes, which also happens when Herald dies without stopping it.
  const watchdog = `exec 3<&0
"$0" "$@" </dev/null 3<&- ${logTarget} & server=$!
(cat <&3 >/dev/null; kill -TERM $server 2>/dev/null) &
exec 3<&-
wait $server`;
  const child = new Deno.Command("sh", {
    args: ["-c", watchdog, cli, ...args],
    stdin: "piped",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const stdin = child.stdin.getWriter();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });

  const stop = async () => {
    await stdin.close().catch(() => {});
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await status;
    clearTimeout(timer);
  };

  const address = `127.0.0.1:${port}`;
  try {
    await waitUntilServing(address, namespace, () => exited);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, uiUrl, namespace, pid: child.pid, stop };
}

async function waitUntilServing(address: string, namespace: string, exited: () => boolean) {
  const deadline = Date.now() + 60_000;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exited()) throw new Error("The Temporal dev server exited while starting; see its log");
    try {
      const connection = await connectTemporal({ address, namespace });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`The Temporal dev server did not answer on ${address} within 60 s: ${lastError}`);
}
