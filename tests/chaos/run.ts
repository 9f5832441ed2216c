/** `deno task chaos`: the full fault suite; writes RELIABILITY.md. `--quick` for a short run. */
import { reliabilityMarkdown, runChaos } from "./suite.ts";

const quick = Deno.args.includes("--quick");
const serverUrl = Deno.env.get("TEST_DATABASE_URL") ?? Deno.env.get("DATABASE_URL") ??
  "postgres://postgres@127.0.0.1:5432/postgres";
const options = {
  serverUrl,
  phaseSeconds: quick ? 8 : 30,
  eventsPerSecond: quick ? 5 : 10,
  repeats: quick ? 2 : 10,
  databaseOutageSeconds: quick ? 5 : 10,
  progress: (line: string) => console.log(line),
};
const started = Date.now();
const reports = await runChaos(options);
const command = `deno task chaos${quick ? " --quick" : ""}`;
await Deno.writeTextFile(
  new URL("../../RELIABILITY.md", import.meta.url),
  reliabilityMarkdown(reports, options, command),
);
console.log(`wrote RELIABILITY.md in ${Math.round((Date.now() - started) / 1000)} s`);
const bad = reports.filter((r) => r.lost > 0 || r.wrongfulDeactivations > 0);
Deno.exit(bad.length ? 1 : 0);
