/** Herald's entry point: `start` (everything), `api`, `worker` or `migrate`. */
import { ConfigError, loadConfig } from "./src/config.ts";
import { migrateToLatest, openDatabase } from "./src/db/mod.ts";
import { startHerald } from "./src/herald.ts";
import { setLogLevel } from "./src/log.ts";
import { createFilesPrivate } from "./src/data_dir.ts";

const USAGE = "Usage: deno task start | api | worker | migrate";

async function main(mode: string): Promise<void> {
  createFilesPrivate();
  const config = loadConfig();
  setLogLevel(config.logLevel);

  if (mode === "migrate") {
    const database = await openDatabase(config);
    const applied = await migrateToLatest(database.db);
    console.log(applied.length ? `Applied: ${applied.join(", ")}` : "Schema is up to date.");
    await database.close();
    return;
  }
  if ((mode === "api" || mode === "worker") && (!config.databaseUrl || !config.temporal.address)) {
    throw new ConfigError(
      `Invalid configuration: \`deno task ${mode}\` runs one half of Herald beside others, so it ` +
        "needs a shared database and Temporal: set DATABASE_URL and TEMPORAL_ADDRESS " +
        "(or use `deno task start` for everything in one process)",
    );
  }

  const herald = await startHerald(config, {
    roles: { api: mode !== "worker", worker: mode !== "api" },
  });
  const lines = ["", "Herald is running."];
  if (herald.apiUrl) {
    lines.push(`  API:         ${herald.apiUrl}`);
    lines.push(`  API docs:    ${herald.apiUrl}/docs`);
  }
  if (herald.workerUrl) {
    lines.push(`  Worker:      ${herald.workerUrl} (/healthz, /readyz, /metrics)`);
  }
  lines.push(`  Temporal:    ${herald.temporalAddress} (namespace ${config.temporal.namespace})`);
  if (herald.temporalUiUrl) lines.push(`  Temporal UI: ${herald.temporalUiUrl}`);
  if (herald.adminToken.generated) {
    lines.push(`  Admin token: ${herald.adminToken.token}`);
    lines.push(`               (shown once; stored in ${herald.adminToken.file})`);
  } else if (herald.adminToken.file) {
    lines.push(`  Admin token: stored in ${herald.adminToken.file}`);
  } else {
    lines.push("  Admin token: from ADMIN_TOKEN");
  }
  lines.push("Press Ctrl+C to stop.", "");
  console.log(lines.join("\n"));

  let stopping = 0;
  const onSignal = (signal: Deno.Signal) => () => {
    // `deno task` forwards the terminal's signal too: the same Ctrl+C can arrive twice at once.
    if (stopping && Date.now() - stopping < 1_000) return;
    if (stopping) {
      console.log(`${signal} again: exiting now.`);
      Deno.exit(130);
    }
    stopping = Date.now();
    console.log(`${signal}: stopping (send it again to exit at once)...`);
    herald.stop().then(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGINT", onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));
  if (herald.worker) {
    await herald.worker.done.catch((err) => {
      console.error(`The worker stopped: ${err instanceof Error ? err.message : err}`);
      Deno.exit(1);
    });
  }
}

if (import.meta.main) {
  const mode = Deno.args[0] ?? "start";
  if (!["start", "api", "worker", "migrate"].includes(mode)) {
    console.error(USAGE);
    Deno.exit(2);
  }
  main(mode).catch((err) => {
    console.error(
      err instanceof ConfigError
        ? err.message
        : `Herald failed to start: ${err instanceof Error ? err.message : err}`,
    );
    Deno.exit(1);
  });
}
