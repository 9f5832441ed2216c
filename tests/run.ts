/**
 * `deno task test`: type-checks every test file once, then runs each in its own `deno test`
 * process, so the native parts of one file's stack (the Temporal core bridge) never share a
 * process with the next file's, and ends with Deno's summary line over all files.
 */
const dir = new URL(".", import.meta.url).pathname;
// An optional pattern (a regular expression) picks files by name: `deno task test "replay|outage"`.
const filter = Deno.args[0] ? new RegExp(Deno.args[0]) : undefined;
const files = [...Deno.readDirSync(dir)]
  .filter((e) => e.isFile && e.name.endsWith("_test.ts") && (!filter || filter.test(e.name)))
  .map((e) => e.name).sort();
if (!files.length) {
  // A pattern that matches nothing is a typo, not a passing run.
  console.log(`No test file in ${dir} matches ${filter}`);
  Deno.exit(1);
}

/** The PostgreSQL server a run uses when neither TEST_DATABASE_URL nor DATABASE_URL is set. */
const LOCAL_POSTGRES = { hostname: "127.0.0.1", port: 5432 };
const LOCAL_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres";
/** PostgreSQL's SSLRequest: a server answers it with one byte, "S" or "N", before any login. */
const SSL_REQUEST = new Uint8Array([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** Whether a PostgreSQL server answers at the address within `ms` (not just any TCP listener). */
async function postgresAnswers(hostname: string, port: number, ms: number): Promise<boolean> {
  const signal = AbortSignal.timeout(ms);
  let conn: Deno.TcpConn | undefined;
  // The signal ends a connect that hangs, but not a read: closing the connection ends that.
  const close = () => {
    try {
      conn?.close();
    } catch {
      // Closed already.
    }
  };
  signal.addEventListener("abort", close);
  try {
    conn = await Deno.connect({ hostname, port, signal });
    await conn.write(SSL_REQUEST);
    const answer = new Uint8Array(1);
    return (await conn.read(answer)) === 1 && (answer[0] === 0x53 || answer[0] === 0x4e);
  } catch {
    return false;
  } finally {
    signal.removeEventListener("abort", close);
    close();
  }
}

/** A database URL fit to print: no password, in the userinfo or in the query. */
function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    parsed.searchParams.delete("password");
    return parsed.toString();
  } catch {
    return "(a URL that does not parse)";
  }
}

// The harness uses TEST_DATABASE_URL, then DATABASE_URL, else PGlite. Without either, the
// machine's PostgreSQL is used when it answers, so tests that need PostgreSQL run rather than
// being ignored. The chosen URL goes to every child as TEST_DATABASE_URL, which the harness
// reads first, so the database announced here is the one the tests use.
const configured = Deno.env.get("TEST_DATABASE_URL") || Deno.env.get("DATABASE_URL");
let databaseUrl: string | undefined;
if (configured) {
  databaseUrl = configured;
  const from = Deno.env.get("TEST_DATABASE_URL") ? "TEST_DATABASE_URL" : "DATABASE_URL";
  console.log(`Database: PostgreSQL at ${withoutPassword(configured)} (from ${from})`);
} else if (await postgresAnswers(LOCAL_POSTGRES.hostname, LOCAL_POSTGRES.port, 1_000)) {
  databaseUrl = LOCAL_POSTGRES_URL;
  console.log(`Database: PostgreSQL at ${LOCAL_POSTGRES_URL} (it answered; no URL was set)`);
} else {
  console.log(
    "Database: PGlite (no TEST_DATABASE_URL or DATABASE_URL, and no PostgreSQL answered at " +
      `${LOCAL_POSTGRES.hostname}:${LOCAL_POSTGRES.port}); tests that need PostgreSQL are ignored`,
  );
}

// The harness starts a dev server per file unless TEST_TEMPORAL_ADDRESS names a running server
// (.ci/temporal_server.sh), which every file then shares.
const temporalAddress = Deno.env.get("TEST_TEMPORAL_ADDRESS");
console.log(
  temporalAddress
    ? `Temporal: the server at ${temporalAddress} (from TEST_TEMPORAL_ADDRESS)`
    : "Temporal: a dev server per test file",
);

// Type-check every file once, then run each without checking again.
const check = await new Deno.Command(Deno.execPath(), {
  args: ["check", ...files.map((f) => `${dir}${f}`)],
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (!check.success) {
  console.log(`\nFAILED | 0 passed | ${files.length} failed (type check)`);
  Deno.exit(1);
}

/** Why a test is ignored, from the `ignore:` option next to its name in the file's source. */
async function ignoreReason(file: string, name: string): Promise<string> {
  const source = await Deno.readTextFile(`${dir}${file}`);
  const at = source.indexOf(name);
  if (at < 0) return "reason not found in the source";
  // The test's own call: up to the next test definition.
  const next = source.slice(at).search(/\n(?:Deno\.)?test\(/);
  const call = source.slice(at, next < 0 ? undefined : at + next);
  const condition = call.match(/ignore:\s*([^,}\n]+)/)?.[1]?.trim();
  if (!condition) return "reason not found in the source";
  const known: Record<string, string> = {
    "!usesPostgres": "needs PostgreSQL, and this run uses PGlite",
    "!serverUrl": "needs PostgreSQL, and this run uses PGlite",
    "!compose": "no `docker compose` on this machine",
    "!go": "no Go toolchain on this machine (`go` on the PATH or /usr/local/go/bin/go)",
    usesExternalTemporal:
      "starts its own embedded Temporal, so the external server (TEST_TEMPORAL_ADDRESS) takes no part; the run without it covers this",
  };
  return known[condition] ? `${known[condition]} (ignore: ${condition})` : `ignore: ${condition}`;
}

const env: Record<string, string> = { NO_COLOR: "1" };
if (databaseUrl) env.TEST_DATABASE_URL = databaseUrl;

let passed = 0;
let failed = 0;
let ignored = 0;
const failures: string[] = [];
const ignoredTests: string[] = [];
const started = Date.now();
for (const file of files) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", "--no-check", `${dir}${file}`],
    env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let output = "";
  await child.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({
      write(chunk) {
        output += chunk;
        Deno.stdout.writeSync(new TextEncoder().encode(chunk));
      },
    }),
  );
  const status = await child.status;
  const exit = status.signal ? `signal ${status.signal}` : `code ${status.code}`;
  const summary = [...output.matchAll(/^(ok|FAILED) \| (\d+) passed.*?\| (\d+) failed(.*)$/gm)]
    .pop();
  if (!summary) {
    // The process ended before Deno's report: the file counts as one failure.
    failed += 1;
    failures.push(`${file} (ended with ${exit} before its report)`);
    continue;
  }
  passed += Number(summary[2]);
  failed += Number(summary[3]);
  ignored += Number(summary[4]!.match(/\| (\d+) ignored/)?.[1] ?? 0);
  // Indented lines are steps, which Deno counts apart ("1 ignored (1 step)").
  for (const [, indent, name] of output.matchAll(/^(\s*)(.+) \.\.\. ignored \(/gm)) {
    const what = indent ? `step "${name}"` : name;
    ignoredTests.push(`${file}: ${what} — ${await ignoreReason(file, name!)}`);
  }
  if (Number(summary[3]) > 0) {
    // Deno lists what failed between " FAILURES " and its summary line.
    const listed = output.match(/^ FAILURES \n\n([\s\S]*?)\n\n(?:ok|FAILED) \|/m)?.[1];
    const lines = listed?.split("\n").filter((l) => l.trim()) ?? [];
    failures.push(...(lines.length ? lines.map((l) => `${file}: ${l}`) : [file]));
  }
  if (!status.success && summary[1] === "ok") {
    // Something after the report failed (a leaked native handle, a crash on exit): not a pass.
    failed += 1;
    failures.push(`${file} (reported all passed, then exited with ${exit})`);
  }
}
const seconds = Math.round((Date.now() - started) / 1000);
if (ignoredTests.length) console.log(`\nIgnored:\n${ignoredTests.map((t) => `  ${t}`).join("\n")}`);
if (failures.length) console.log(`\nFailed:\n${failures.map((f) => `  ${f}`).join("\n")}`);
// The shape of Deno's own summary line, which CI greps for; "ignored" is always shown.
const verdict = failed ? "FAILED" : "ok";
console.log(
  `\n${verdict} | ${passed} passed | ${failed} failed | ${ignored} ignored (${seconds}s)`,
);
Deno.exit(failed ? 1 : 0);
