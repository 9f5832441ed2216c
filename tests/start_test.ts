/** `deno task start` as a newcomer runs it: embedded PGlite and Temporal, banner, clean stop. */
import assert from "node:assert/strict";
import { test, waitFor } from "./harness.ts";
import { heraldCommand, type HeraldProcess, killHard, spawnHerald } from "./processes.ts";

async function startEmbedded(dataDir: string) {
  return await spawnHerald("start", {
    HERALD_DATA_DIR: dataDir,
    PORT: "0",
    TEMPORAL_DEV_PORT: "0",
    TEMPORAL_UI_PORT: "0",
  });
}

async function stopWithSigterm(started: HeraldProcess) {
  started.child.kill("SIGTERM");
  return await started.exited;
}

test("deno task start runs everything embedded, prints URLs and the admin token, and stops cleanly", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "herald-start-" });
  const first = await startEmbedded(dataDir);
  const apiUrl = /API:\s+(http:\/\/\S+)/.exec(first.banner)?.[1];
  const uiUrl = /Temporal UI:\s+(http:\/\/\S+)/.exec(first.banner)?.[1];
  const temporal = /Temporal:\s+(\S+)/.exec(first.banner)?.[1];
  const token = /Admin token:\s+(hadm_\S+)/.exec(first.banner)?.[1];
  assert.ok(apiUrl && uiUrl && temporal && token, first.banner);
  assert.match(first.banner, /API docs:\s+http:\/\/\S+\/docs/);

  const ready = await fetch(`${apiUrl}/readyz`);
  assert.equal(ready.status, 200);
  const readiness = await ready.json();
  assert.deepEqual(
    [readiness.status, readiness.database, readiness.temporal, readiness.worker],
    ["ready", "ok", "ok", "running"],
  );
  // Its own worker polls: no warning that events wait for one.
  assert.equal(readiness.warning, undefined);
  const org = await fetch(`${apiUrl}/v1/organizations`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "Acme", plan: "business" }),
  });
  assert.equal(org.status, 201);
  const stored = (await Deno.readTextFile(`${dataDir}/admin_token`)).trim();
  assert.equal(stored, token);
  // While it runs, the data directory is closed to other users (0700).
  assert.equal((await Deno.stat(dataDir)).mode! & 0o777, 0o700);
  assert.equal((await Deno.stat(`${dataDir}/admin_token`)).mode! & 0o777, 0o600);

  const status = await stopWithSigterm(first);
  assert.equal(status.code, 0, first.stderr());
  // At rest, everything in it (PGlite's files with secrets, Temporal's SQLite, the token) is
  // private: 0700 directories, no file open to group or others.
  const open: string[] = [];
  const pending = [dataDir];
  while (pending.length > 0) {
    const path = pending.pop()!;
    const info = await Deno.lstat(path);
    if (info.isSymlink) continue;
    if ((info.mode! & 0o077) !== 0) open.push(`${path} ${(info.mode! & 0o777).toString(8)}`);
    if (info.isDirectory) {
      for await (const e of Deno.readDir(path)) pending.push(`${path}/${e.name}`);
    }
  }
  assert.deepEqual(open, [], "files readable or writable by others");
  assert.ok(
    (await Deno.stat(`${dataDir}/temporal.sqlite`)).isFile,
    "the embedded Temporal's SQLite file is among them",
  );

  const [host, port] = temporal.split(":");
  await assert.rejects(() => Deno.connect({ hostname: host!, port: Number(port) }));

  // A second start keeps the data and the token, and does not print the token again.
  const second = await startEmbedded(dataDir);
  assert.doesNotMatch(second.banner, /hadm_/);
  assert.match(second.banner, /Admin token: stored in/);
  const secondApi = /API:\s+(http:\/\/\S+)/.exec(second.banner)![1];
  const again = await fetch(`${secondApi}/v1/organizations/${(await org.json()).id}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(again.status, 200);
  assert.equal((await again.json()).name, "Acme");
  assert.equal((await stopWithSigterm(second)).code, 0);
});

test("a bad environment value stops Herald with a message naming the variable", async () => {
  for (
    const [name, value, problem] of [
      ["PORT", "eighty", /PORT/],
      ["DELIVERY_RETRY_INTERVAL", "soon", /DELIVERY_RETRY_INTERVAL: expected a duration/],
      ["DATABASE_URL", "mysql://x", /DATABASE_URL: expected a postgres:\/\/ URL/],
      ["ALLOW_INSECURE_URLS", "maybe", /ALLOW_INSECURE_URLS/],
    ] as const
  ) {
    const out = await heraldCommand("start", {
      [name]: value,
      HERALD_DATA_DIR: "/nonexistent/never-created",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, stderr);
    assert.match(stderr, /^Invalid configuration:/m);
    assert.match(stderr, problem);
  }
});

test("a crash of Herald (kill -9) leaves no Temporal dev server behind", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "herald-crash-" });
  const started = await startEmbedded(dataDir);
  const [host, port] = /Temporal:\s+(\S+)/.exec(started.banner)![1]!.split(":");
  (await Deno.connect({ hostname: host!, port: Number(port) })).close();
  await killHard(started);
  await waitFor("the dev server to go away", async () => {
    try {
      (await Deno.connect({ hostname: host!, port: Number(port) })).close();
      return false;
    } catch {
      return true;
    }
  }, 20_000);
});
