/**
 * What can be checked of the image and the compose file without a Docker engine: the compose file
 * parses (`docker compose config`), and the image runs the same `deno task` commands the tests run,
 * as a non-root user, with a health check on /healthz.
 */
import assert from "node:assert/strict";
import { test } from "./harness.ts";
import { RECOMMENDED_DYNAMIC_CONFIG } from "../src/temporal/dev_server.ts";

const root = new URL("../", import.meta.url).pathname;
const tasks: Record<string, string> = JSON.parse(await Deno.readTextFile(`${root}deno.json`)).tasks;

async function composeCommand(): Promise<string[] | undefined> {
  for (const command of [["docker", "compose"], ["docker-compose"]]) {
    try {
      const out = await new Deno.Command(command[0]!, {
        args: [...command.slice(1), "version"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (out.success) return command;
    } catch {
      // Not installed.
    }
  }
  return undefined;
}

const compose = await composeCommand();
if (!compose) {
  console.log(
    "docker_test: no `docker compose` here, so the compose file is not parsed (.ci/run installs it)",
  );
}

/** The temporal-server version the tests' cluster builds: the one the Temporal CLI v1.5.1 pins. */
async function clusterServerVersion(): Promise<string> {
  const goMod = await Deno.readTextFile(`${root}.ci/temporal-server/go.mod`);
  const version = /^\s*go\.temporal\.io\/server v(\S+)/m.exec(goMod)?.[1];
  assert.ok(version, ".ci/temporal-server/go.mod pins go.temporal.io/server");
  return version;
}

test(
  "docker compose config parses compose.yaml: PostgreSQL, Temporal set up in steps with its UI, API and worker apart",
  async () => {
    const out = await new Deno.Command(compose![0]!, {
      args: [...compose!.slice(1), "-f", `${root}compose.yaml`, "config", "--format", "json"],
      env: { ADMIN_TOKEN: "a-token-for-the-check-0123456789" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const config = JSON.parse(new TextDecoder().decode(out.stdout));
    const services = config.services;
    assert.deepEqual(
      Object.keys(services).sort(),
      [
        "api",
        "postgres",
        "temporal",
        "temporal-namespace",
        "temporal-schema",
        "temporal-ui",
        "worker",
      ],
    );
    for (const [name, task] of [["api", "api"], ["worker", "worker"]] as const) {
      const service = services[name];
      assert.deepEqual(service.command, ["deno", "task", task]);
      assert.ok(tasks[task], `deno task ${task} exists`);
      assert.equal(service.build.dockerfile, "Dockerfile");
      assert.match(service.environment.DATABASE_URL, /^postgres:\/\/.*@postgres:5432\//);
      assert.equal(service.environment.TEMPORAL_ADDRESS, "temporal:7233");
      assert.equal(service.environment.ADMIN_TOKEN, "a-token-for-the-check-0123456789");
    }
    // Temporal keeps its state in the same PostgreSQL server; its Web UI talks to it.
    assert.equal(services.temporal.environment.POSTGRES_SEEDS, "postgres");
    assert.equal(services.temporal.environment.DB, "postgres12");
    assert.equal(services["temporal-ui"].environment.TEMPORAL_ADDRESS, "temporal:7233");

    // The server the tests run against, and admin tools of the same version for its setup.
    const version = await clusterServerVersion();
    assert.equal(services.temporal.image, `temporalio/server:${version}`);
    for (const step of ["temporal-schema", "temporal-namespace"]) {
      assert.ok(
        services[step].image.startsWith(`temporalio/admin-tools:${version}-`),
        `${step} runs admin tools ${version}: ${services[step].image}`,
      );
      assert.equal(services[step].restart, "no");
    }
    // Herald's dynamic config, mounted from the repository and named as the server's file.
    const mounted = services.temporal.volumes.find((v: { source: string }) =>
      v.source === `${root}src/temporal/dynamic_config.yaml`
    );
    assert.ok(mounted, JSON.stringify(services.temporal.volumes));
    assert.equal(services.temporal.environment.DYNAMIC_CONFIG_FILE_PATH, mounted.target);
    assert.equal(services.temporal.environment.NUM_HISTORY_SHARDS, "4");
    // Setup in order: schema, server, namespace; Herald only after the namespace exists.
    assert.equal(
      services.temporal.depends_on["temporal-schema"].condition,
      "service_completed_successfully",
    );
    // Both databases get the schema shipped with that server version, in the admin tools image.
    // (`config` writes a `$` of the script as `$$`, compose's escape.)
    const schemaScript = services["temporal-schema"].command.join("\n").replaceAll("$$", "$");
    assert.match(schemaScript, /schema=\/etc\/temporal\/schema\/postgresql\/v12\n/);
    assert.match(schemaScript, /for part in temporal visibility; do/);
    assert.match(schemaScript, /update-schema -d "\$schema\/\$part\/versioned"/);
    const namespaceScript = services["temporal-namespace"].command.join("\n");
    assert.match(namespaceScript, /temporal operator namespace create -n default --retention 720h/);
    assert.equal(services["temporal-namespace"].environment.TEMPORAL_ADDRESS, "temporal:7233");
    for (const name of ["api", "worker"]) {
      assert.equal(
        services[name].depends_on["temporal-namespace"].condition,
        "service_completed_successfully",
        `${name} starts once the namespace exists`,
      );
    }
    // Only the API is published, and on loopback unless told otherwise.
    assert.equal(services.api.ports.length, 1);
    assert.equal(services.api.ports[0].target, 8080);
    assert.equal(services.api.ports[0].host_ip, "127.0.0.1");
    for (
      const name of [
        "postgres",
        "temporal",
        "temporal-ui",
        "worker",
        "temporal-schema",
        "temporal-namespace",
      ]
    ) {
      assert.equal(services[name].ports, undefined, `${name} publishes no port`);
    }
    // Each role's health check asks its own port: the API's, and the worker's probe port.
    assert.match(services.api.healthcheck.test.join(" "), /127\.0\.0\.1:8080\/healthz/);
    assert.match(services.worker.healthcheck.test.join(" "), /127\.0\.0\.1:9464\/healthz/);
    // Without an admin token the stack refuses to start, rather than ship a default one.
    const bare = await new Deno.Command(compose![0]!, {
      args: [...compose!.slice(1), "-f", `${root}compose.yaml`, "config", "--format", "json"],
      env: { ADMIN_TOKEN: "" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(bare.success, false);
    assert.match(new TextDecoder().decode(bare.stderr), /ADMIN_TOKEN/);
  },
  { ignore: !compose },
);

test("the dynamic config compose.yaml mounts into Temporal is the one the embedded server runs with", async () => {
  const file = await Deno.readTextFile(`${root}src/temporal/dynamic_config.yaml`);
  // The file's shape: `key:` then `  - value: <JSON>`, one value per key, no constraints.
  const entries = [...file.matchAll(/^([\w.]+):\n\s+- value: (.+)$/gm)]
    .map(([, key, value]) => [key, JSON.parse(value!)]);
  const keys = [...file.matchAll(/^([\w.]+):/gm)].map(([, key]) => key);
  assert.equal(entries.length, keys.length, "every key has one value");
  assert.deepEqual(Object.fromEntries(entries), RECOMMENDED_DYNAMIC_CONFIG);
  assert.equal(RECOMMENDED_DYNAMIC_CONFIG["system.enableActivityEagerExecution"], true);
});

test("the Dockerfile: official Deno image, cached dependency layer, non-root, health check, deno tasks", async () => {
  const dockerfile = await Deno.readTextFile(`${root}Dockerfile`);
  const lines = dockerfile.split("\n").filter((l) => l.trim() && !l.startsWith("#"));
  assert.match(lines[0]!, /^FROM denoland\/deno:\d+\.\d+\.\d+$/);
  // The lock file and deno.json are copied and installed before the sources.
  const install = lines.findIndex((l) => l === "RUN deno install --frozen");
  const copyManifest = lines.findIndex((l) => l === "COPY deno.json deno.lock ./");
  const copyAll = lines.findIndex((l) => l === "COPY . .");
  assert.ok(copyManifest >= 0 && copyManifest < install && install < copyAll);
  assert.ok(lines.includes("USER deno"));
  // The workflow bundle is built into the image, so workers start without the bundler.
  assert.match(dockerfile, /deno run [^\n]*workers\/bundle\.ts/);
  assert.match(dockerfile, /HEALTHCHECK [^\n]*\\\n[^\n]*\/healthz/);
  assert.match(dockerfile, /^ENV [^\n]*WORKER_METRICS_PORT=9464/m);
  assert.ok(dockerfile.includes("ENV HOST=0.0.0.0"));
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile);
  assert.ok(cmd);
  const [deno, task, name] = JSON.parse(cmd[1]!);
  assert.deepEqual([deno, task], ["deno", "task"]);
  assert.ok(tasks[name], `deno task ${name} exists`);
  // The service's tasks name their permissions: no --allow-all in what the image runs.
  for (const t of ["api", "worker", "migrate"]) assert.doesNotMatch(tasks[t]!, /allow-all|-A\b/);
  // The lock file the image installs from is the one the tests ran with.
  await Deno.stat(`${root}deno.lock`);
  const ignore = await Deno.readTextFile(`${root}.dockerignore`).catch(() => "");
  for (const path of ["node_modules", ".bin", "data"]) {
    assert.ok(ignore.split("\n").includes(path), `.dockerignore leaves out ${path}`);
  }
});

test("the image's health check passes on the API's port or, for a worker alone, on its own", async () => {
  const dockerfile = await Deno.readTextFile(`${root}Dockerfile`);
  const command = /^\s*CMD (\[.*\])$/m.exec(dockerfile.split("HEALTHCHECK")[1]!)?.[1];
  assert.ok(command, "HEALTHCHECK has a CMD in exec form");
  const [deno, ...args] = JSON.parse(command) as string[];
  assert.equal(deno, "deno");
  const check = async (env: Record<string, string>) =>
    (await new Deno.Command(Deno.execPath(), { args, env, stdout: "null", stderr: "null" })
      .output()).code;
  const healthz = (ok: boolean) =>
    Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) =>
        new URL(req.url).pathname === "/healthz"
          ? new Response("{}", { status: ok ? 200 : 503 })
          : new Response("", { status: 404 }),
    );
  const closed = () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    listener.close();
    return String(listener.addr.port);
  };
  const [api, worker, sick] = [healthz(true), healthz(true), healthz(false)];
  try {
    const port = (server: Deno.HttpServer<Deno.NetAddr>) => String(server.addr.port);
    assert.equal(await check({ PORT: port(api), WORKER_METRICS_PORT: closed() }), 0, "API");
    assert.equal(await check({ PORT: closed(), WORKER_METRICS_PORT: port(worker) }), 0, "worker");
    assert.equal(await check({ PORT: closed(), WORKER_METRICS_PORT: closed() }), 1, "nothing");
    assert.equal(await check({ PORT: port(sick), WORKER_METRICS_PORT: closed() }), 1, "a 503");
  } finally {
    await Promise.all([api, worker, sick].map((server) => server.shutdown()));
  }
});
