/**
 * `deno task test`: runs each test file in its own `deno test` process, so the native parts of one
 * file's stack (the Temporal core bridge) never share a process with the next file's, then prints
 * Deno's summary line over all files.
 */
const dir = new URL(".", import.meta.url).pathname;
// An optional pattern (a regular expression) picks files by name: `deno task test "delivery|replay"`.
const filter = Deno.args[0] ? new RegExp(Deno.args[0]) : undefined;
const files = [...Deno.readDirSync(dir)]
  .filter((e) => e.isFile && e.name.endsWith("_test.ts") && (!filter || filter.test(e.name)))
  .map((e) => e.name).sort();

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

let passed = 0;
let failed = 0;
const failures: string[] = [];
const started = Date.now();
for (const file of files) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", "--no-check", `${dir}${file}`],
    env: { NO_COLOR: "1" },
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
  const summary = [...output.matchAll(/^(ok|FAILED) \| (\d+) passed.*?\| (\d+) failed/gm)].pop();
  if (summary) {
    passed += Number(summary[2]);
    failed += Number(summary[3]);
    if (Number(summary[3]) > 0) failures.push(file);
    if (!status.success && summary[1] === "ok") {
      console.log(`note: ${file} reported all passed, then exited with code ${status.code}`);
    }
  } else {
    // The process ended before Deno's report: the file counts as one failure.
    failed += 1;
    failures.push(`${file} (ended with code ${status.code} before its report)`);
  }
}
const seconds = Math.round((Date.now() - started) / 1000);
if (failures.length) console.log(`\nFailed: ${failures.join(", ")}`);
console.log(`\n${failed ? "FAILED" : "ok"} | ${passed} passed | ${failed} failed (${seconds}s)`);
Deno.exit(failed ? 1 : 0);
