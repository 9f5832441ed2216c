/**
 * Herald's API with a fault handed in: every event's deliveries wait a minute after commit
 * before their workflows start, so a test can kill the process in that window.
 * Run as `main.ts api` is (see PAUSING_API in tests/processes.ts).
 */
import { loadConfig } from "../src/config.ts";
import { startHerald } from "../src/herald.ts";
import { setLogLevel } from "../src/log.ts";

const config = loadConfig();
setLogLevel(config.logLevel);
const herald = await startHerald(config, {
  roles: { api: true, worker: false },
  progress: () => {},
  beforeStart: () => new Promise((resolve) => setTimeout(resolve, 60_000)),
});
console.log(`Herald is running.\n  API:         ${herald.apiUrl}\nPress Ctrl+C to stop.`);
