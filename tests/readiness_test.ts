/**
 * What a process says about itself before and while it serves: a port in use, a missing Temporal
 * namespace, no worker polling, a worker cut off from PostgreSQL or stopped.
 */
import assert from "node:assert/strict";
import {
  ADMIN_TOKEN,
  callApi,
  sharedInfra,
  stopStackAfterTests,
  test,
  testEnv,
  usesPostgres,
  waitFor,
} from "./harness.ts";
import { heraldCommand, killHard, spawnHerald } from "./processes.ts";
import { startTcpProxy } from "./tcp_proxy.ts";
import { artifactPath, launchBrowser } from "./browser.ts";
import type { Browser } from "playwright-core";
import { loadConfig } from "../src/config.ts";
import { type Herald, startHerald } from "../src/herald.ts";
import { connectTemporal, temporalClient } from "../src/temporal/client.ts";
import { ensureTemporalCli } from "../src/temporal/dev_server.ts";
import { heraldTaskQueues } from "../src/temporal/task_queues.ts";

/** Runs `deno task <mode>` until it exits; returns its exit code and what it printed. */
async function runToExit(mode: "start" | "api" | "worker", env: Record<string, string>) {
  const out = await heraldCommand(mode, env).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** A port something listens on for the length of a test. */
function busyPort(): Deno.Listener<Deno.TcpConn, Deno.NetAddr> {
  return Deno.listen({ hostname: "127.0.0.1", port: 0 });
}

/** A worker without the API, in this process, on the given environment. */
async function workerAlone(env: Record<string, string>): Promise<Herald> {
  const infra = await sharedInfra();
  const config = loadConfig(testEnv(infra, { WORKER_METRICS_PORT: "0", ...env }));
  return await startHerald(config, { roles: { api: false, worker: true }, progress: () => {} });
}

test("a start on a port in use names the port and the variable that sets it", async () => {
  const busy = busyPort();
  const port = String(busy.addr.port);
  // Placeholders: the ports are checked before anything is connected to.
  const external = {
    DATABASE_URL: "postgres://herald@127.0.0.1:1/herald",
    TEMPORAL_ADDRESS: "127.0.0.1:1",
    ADMIN_TOKEN,
  };
  const dataDir = () => Deno.makeTempDirSync({ prefix: "herald-ports-" });
  try {
    const runs = await Promise.all([
      runToExit("api", { ...external, PORT: port }),
      runToExit("worker", { ...external, WORKER_METRICS_PORT: port }),
      runToExit("start", {
        HERALD_DATA_DIR: dataDir(),
        PORT: "0",
        TEMPORAL_DEV_PORT: port,
        TEMPORAL_UI_PORT: "0",
      }),
      runToExit("start", {
        HERALD_DATA_DIR: dataDir(),
        PORT: "0",
        TEMPORAL_DEV_PORT: "0",
        TEMPORAL_UI_PORT: port,
      }),
    ]);
    const variables = ["PORT", "WORKER_METRICS_PORT", "TEMPORAL_DEV_PORT", "TEMPORAL_UI_PORT"];
    runs.forEach((run, i) => {
      assert.equal(run.code, 1, run.stderr);
      assert.match(
        run.stderr,
        new RegExp(
          `^Herald failed to start: Port ${port} on 127\\.0\\.0\\.1 is already in use ` +
            `\\(set by ${variables[i]}\\): stop what listens there, or set ${variables[i]} to ` +
            "another port",
          "m",
        ),
      );
      assert.doesNotMatch(run.stdout, /Herald is running/);
    });
  } finally {
    busy.close();
  }
});

test(
  "a missing namespace stops the API and the worker with the command that creates it",
  async () => {
    const infra = await sharedInfra();
    const namespace = `herald-missing-${crypto.randomUUID().slice(0, 8)}`;
    const env = testEnv(infra, { TEMPORAL_NAMESPACE: namespace, WORKER_METRICS_PORT: "0" });
    const address = infra.temporal.address;
    const runs = await Promise.all([runToExit("api", env), runToExit("worker", env)]);
    const command = `temporal operator namespace create --namespace ${namespace} ` +
      `--address ${address} --retention 30d`;
    for (const run of runs) {
      assert.equal(run.code, 1, run.stderr);
      assert.ok(
        run.stderr.startsWith(
          `Herald failed to start: The Temporal namespace "${namespace}" does not exist on ` +
            `${address}. Create it with\n  ${command}\n`,
        ),
        run.stderr,
      );
      assert.match(run.stderr, /or set TEMPORAL_CREATE_NAMESPACE=true to let Herald create it/);
    }

    // The command it names does the job: run as printed, then the API starts.
    const [cli, ...args] = command.split(" ");
    assert.equal(cli, "temporal");
    const created = await new Deno.Command(await ensureTemporalCli(() => {}), {
      args,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(created.success, new TextDecoder().decode(created.stderr));
    const api = await spawnHerald("api", env);
    await killHard(api);
  },
  { ignore: !usesPostgres },
);

test(
  "with TEMPORAL_CREATE_NAMESPACE=true a start creates the missing namespace with 30 days' retention",
  async () => {
    const infra = await sharedInfra();
    const namespace = `herald-created-${crypto.randomUUID().slice(0, 8)}`;
    const env = testEnv(infra, {
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_CREATE_NAMESPACE: "true",
      WORKER_METRICS_PORT: "0",
    });
    const worker = await spawnHerald("worker", env);
    const connection = await connectTemporal({ address: infra.temporal.address, namespace });
    try {
      assert.match(worker.stdout(), new RegExp(`Creating the Temporal namespace ${namespace}`));
      const described = await temporalClient(connection, namespace).workflowService
        .describeNamespace({ namespace });
      assert.equal(Number(described.config?.workflowExecutionRetentionTtl?.seconds), 30 * 86_400);
      // The worker polls in it: the namespace was ready for work, not only stored.
      const workerUrl = /Worker:\s+(http:\/\/\S+)/.exec(worker.banner)![1]!;
      const ready = await fetch(`${workerUrl}/readyz`);
      assert.equal(ready.status, 200, await ready.text());
    } finally {
      await connection.close();
      await killHard(worker);
    }
  },
  { ignore: !usesPostgres },
);

test(
  "with no worker polling, the API stays ready and /readyz, /metrics and the dashboard say events wait",
  async () => {
    const infra = await sharedInfra();
    const taskQueue = `herald-idle-${crypto.randomUUID().slice(0, 6)}`;
    const queues = heraldTaskQueues(taskQueue);
    const env = testEnv(infra, { TEMPORAL_TASK_QUEUE: taskQueue });
    const api = await spawnHerald("api", env);
    let worker: Herald | undefined;
    let browser: Browser | undefined;
    try {
      const apiUrl = api.apiUrl!;
      const readiness = async () => {
        const response = await fetch(`${apiUrl}/readyz`);
        assert.equal(response.status, 200, "the API stays ready: accepted events wait safely");
        return await response.json();
      };
      const idle = await readiness();
      assert.deepEqual(idle.pollers, { [queues[0]!]: 0, [queues[1]!]: 0 });
      assert.equal(
        idle.warning,
        `No worker polls the task queues ${queues[0]} and ${queues[1]}: accepted events are ` +
          "stored and wait until a worker runs (deno task worker).",
      );
      const metrics = await (await fetch(`${apiUrl}/metrics`)).text();
      for (const queue of queues) {
        assert.match(
          metrics,
          new RegExp(`^herald_task_queue_pollers\\{queue="${queue}"\\} 0$`, "m"),
        );
      }
      // The banner is on every page of the dashboard: the sign-in page, and a signed-in one.
      const org = await callApi(apiUrl, "POST", "/v1/organizations", ADMIN_TOKEN, {
        name: "Idle",
        plan: "business",
      });
      browser = await launchBrowser();
      const page = await browser.newPage();
      await page.goto(`${apiUrl}/`);
      const waiting = /^No worker polls the task queues .*wait until a worker runs/;
      assert.match(await page.textContent("#banner") ?? "", waiting);
      await page.fill("input[name=apiKey]", org.body.apiKey);
      await page.click("button[type=submit]");
      await page.waitForURL("**/webhooks");
      assert.match(await page.textContent("[role=status]#banner") ?? "", waiting);
      await page.screenshot({ path: await artifactPath("no-worker-banner.png"), fullPage: true });

      // A worker starts polling: within the few seconds the answer is reused, all three say so.
      worker = await workerAlone({ TEMPORAL_TASK_QUEUE: taskQueue });
      await waitFor("the API to see the worker", async () => {
        const answer = await readiness();
        return answer.warning === undefined && answer.pollers[queues[0]!] >= 1 &&
          answer.pollers[queues[1]!] >= 1;
      });
      await page.reload();
      assert.equal(await page.locator("#banner").count(), 0);
      const polled = await (await fetch(`${apiUrl}/metrics`)).text();
      assert.match(
        polled,
        new RegExp(`^herald_task_queue_pollers\\{queue="${taskQueue}"\\} 1$`, "m"),
      );
    } finally {
      await browser?.close();
      await worker?.stop();
      await killHard(api);
    }
  },
  { ignore: !usesPostgres },
);

test(
  "a worker alone answers /readyz 503 naming PostgreSQL when it is cut off, and itself once stopped",
  async () => {
    const infra = await sharedInfra();
    const direct = new URL(infra.databaseUrl!);
    const proxy = startTcpProxy({ hostname: direct.hostname, port: Number(direct.port || 5432) });
    const proxied = new URL(direct);
    proxied.port = String(proxy.port);
    const herald = await workerAlone({
      DATABASE_URL: proxied.toString(),
      TEMPORAL_TASK_QUEUE: `herald-probe-${crypto.randomUUID().slice(0, 6)}`,
    });
    try {
      assert.equal(herald.apiUrl, undefined);
      const readyz = async () => {
        const response = await fetch(`${herald.workerUrl}/readyz`);
        return { status: response.status, body: await response.json() };
      };
      assert.deepEqual(await readyz(), {
        status: 200,
        body: { status: "ready", database: "ok", temporal: "ok", worker: "running" },
      });

      proxy.cut();
      const cut = await readyz();
      assert.equal(cut.status, 503);
      assert.deepEqual(cut.body.error, {
        code: "not_ready",
        message: "Not ready: PostgreSQL does not answer",
        details: [{ path: "database", message: "does not answer" }],
      });
      proxy.restore();
      await waitFor("ready again", async () => (await readyz()).status === 200);

      await herald.worker!.shutdown();
      const stopped = await readyz();
      assert.equal(stopped.status, 503);
      assert.equal(stopped.body.error.message, "Not ready: the Temporal worker is not running");
      // Alive all the same: /healthz says the process runs.
      const health = await fetch(`${herald.workerUrl}/healthz`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
    } finally {
      await herald.stop();
      proxy.close();
    }
  },
  { ignore: !usesPostgres },
);

stopStackAfterTests();
