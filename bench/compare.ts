/**
 * Earlier versions of Herald measured in the same run as this one: `deno task bench --compare
 * <ref>,<ref>,...` checks each git ref out into a temporary worktree, starts the Temporal dev server
 * as that version starts it (its own settings), runs its API and worker as separate processes
 * against that server and the benchmark's PostgreSQL database, and measures the same two loads for
 * each version, one version after the other.
 */
import postgres from "postgres";
import { killHard, spawnHerald } from "../tests/processes.ts";
import { childrenOf, ResourceSampler } from "./resources.ts";
import { startSink } from "./sinks.ts";
import { percentile, round } from "./stats.ts";

/** What one version did under the comparison's loads. */
export interface VersionResult {
  version: string;
  commit: string;
  latencyAt20PerSecond: { p50Ms: number; p99Ms: number };
  /** POST /v1/events from 16 clients at once, closed loop, one webhook. */
  ingest: { requestsPerSecond: number; p50Ms: number; p99Ms: number };
  burst: {
    targetDeliveriesPerSecond: number;
    deliveriesPerSecond: number;
    drainedAfterMs: number;
  };
  cpuMsPerDelivery: Record<string, number>;
  peakRssMb: Record<string, number>;
}

/** What the comparison needs from the benchmark's stack. */
export interface CompareStack {
  env: Record<string, string>;
  adminToken: string;
  say: (line: string) => void;
  /** Waits until the previous load has been worked off. */
  settle: () => Promise<void>;
}

const ROOT = new URL("../", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs git in the project (or `cwd`) and answers its output; throws with its stderr on failure. */
export async function git(args: string[], cwd = ROOT): Promise<string> {
  const out = await new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout).trim();
}

/** Measures each ref ("worktree" is the files as they are now) under the same loads. */
export async function compareVersions(
  refs: string[],
  stack: CompareStack,
  quick: boolean,
): Promise<VersionResult[]> {
  const results: VersionResult[] = [];
  for (const ref of refs) {
    let dir = ROOT;
    let commit = "working tree";
    if (ref !== "worktree") {
      commit = await git(["rev-parse", "--short", ref]);
      dir = await Deno.makeTempDir({ prefix: `herald-${commit}-` });
      await git(["worktree", "add", "--detach", dir, commit]);
      stack.say(`  version ${ref} (${commit}): installing its dependencies`);
      const install = await new Deno.Command(Deno.execPath(), {
        args: ["install"],
        cwd: dir,
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!install.success) throw new Error(new TextDecoder().decode(install.stderr));
    }
    try {
      await stack.settle();
      results.push(await measureVersion(ref, commit, dir, stack, quick));
      stack.say(`  version ${ref}: ${JSON.stringify(results.at(-1))}`);
    } finally {
      if (dir !== ROOT) await git(["worktree", "remove", "--force", dir]).catch(() => {});
    }
  }
  return results;
}

async function measureVersion(
  version: string,
  commit: string,
  projectDir: string,
  stack: CompareStack,
  quick: boolean,
): Promise<VersionResult> {
  // The version's own dev server: server settings are part of what a version changes.
  const devServer = `file://${projectDir.replace(/\/$/, "")}/src/temporal/dev_server.ts`;
  const { startDevServer } = await import(devServer);
  const temporal = await startDevServer({ port: 0, progress: () => {} });
  // The version's own database too: each version migrates it to its own schema.
  const database = await freshDatabase(stack.env.DATABASE_URL!, commit);
  const env = { ...stack.env, TEMPORAL_ADDRESS: temporal.address, DATABASE_URL: database.url };
  const [api, worker] = await Promise.all([
    spawnHerald("api", env, { projectDir }),
    spawnHerald("worker", env, { projectDir }),
  ]).catch(async (err) => {
    await temporal.stop();
    await database.drop();
    throw err;
  });
  const sampler = new ResourceSampler({
    api: () => api.child.pid,
    worker: () => worker.child.pid,
    temporal: () => childrenOf(temporal.pid)[0],
  });
  const call = async (path: string, token: string, body: unknown) => {
    const response = await fetch(`${api.apiUrl}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return await response.json();
  };
  const sink = await startSink();
  try {
    const organization = async (webhooks: number) => {
      const org = await call("/v1/organizations", stack.adminToken, {
        name: "compare",
        plan: "business",
      });
      for (let i = 0; i < webhooks; i++) {
        await call("/v1/webhooks", org.apiKey, { url: `${sink.url}/${i}` });
      }
      return org.apiKey as string;
    };
    /** Publishes at a rate; resolves with each payload id and when its POST was answered. */
    const publishAt = async (key: string, perSecond: number, seconds: number) => {
      const sent: Array<{ id: string; at: number }> = [];
      const pending: Promise<void>[] = [];
      const start = performance.now();
      for (let i = 0; i < perSecond * seconds; i++) {
        const wait = start + (i * 1000) / perSecond - performance.now();
        if (wait > 0) await sleep(wait);
        pending.push(
          call("/v1/events", key, {
            event: "bench.item",
            object: "item",
            objectId: `i${i}`,
            data: { i },
          }).then(
            (a) => {
              const at = performance.now();
              for (const p of a.payloads ?? []) sent.push({ id: p.id, at });
            },
          ),
        );
      }
      await Promise.all(pending);
      return sent;
    };
    const arrived = async (sent: Array<{ id: string }>, timeoutMs: number) => {
      const deadline = performance.now() + timeoutMs;
      while (sent.some(({ id }) => !sink.firstArrival.has(id)) && performance.now() < deadline) {
        await sleep(10);
      }
    };

    const one = await organization(1);
    await arrived(await publishAt(one, 10, 2), 30_000); // warm-up
    const seconds = quick ? 4 : 20;
    const light = await publishAt(one, 20, seconds);
    await arrived(light, 30_000);
    const latencies = light.map(({ id, at }) => (sink.firstArrival.get(id) ?? Infinity) - at);

    // Ingest: 16 publishers as fast as they are answered; then everything they sent arrives.
    const ingestSeconds = quick ? 4 : 15;
    const answered: number[] = [];
    const ingested: Array<{ id: string }> = [];
    const ingestEnd = performance.now() + ingestSeconds * 1000;
    let n = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (performance.now() < ingestEnd) {
        const t = performance.now();
        const a = await call("/v1/events", one, {
          event: "bench.item",
          object: "item",
          objectId: `ingest${n++}`,
          data: {},
        });
        answered.push(performance.now() - t);
        for (const p of a.payloads ?? []) ingested.push({ id: p.id });
      }
    }));
    await arrived(ingested, 300_000);
    await stack.settle();

    const ten = await organization(10);
    const target = 80;
    sampler.start();
    const started = performance.now();
    const burst = await publishAt(ten, target / 10, seconds);
    const window = started + seconds * 1000;
    await sleep(Math.max(0, window - performance.now()));
    const inWindow = burst.filter(({ id }) => (sink.firstArrival.get(id) ?? Infinity) <= window)
      .length;
    await arrived(burst, 120_000);
    const drainedAfterMs = Math.max(...burst.map(({ id }) => sink.firstArrival.get(id) ?? NaN)) -
      window;
    const resources = sampler.stop();
    return {
      version,
      commit,
      latencyAt20PerSecond: {
        p50Ms: round(percentile(latencies, 50)),
        p99Ms: round(percentile(latencies, 99)),
      },
      ingest: {
        requestsPerSecond: round(answered.length / ingestSeconds),
        p50Ms: round(percentile(answered, 50)),
        p99Ms: round(percentile(answered, 99)),
      },
      burst: {
        targetDeliveriesPerSecond: target,
        deliveriesPerSecond: round(inWindow / seconds),
        drainedAfterMs: round(Math.max(0, drainedAfterMs)),
      },
      cpuMsPerDelivery: Object.fromEntries(
        Object.entries(resources).map(([n, r]) => [n, round((r.cpuSeconds * 1000) / burst.length)]),
      ),
      peakRssMb: Object.fromEntries(Object.entries(resources).map(([n, r]) => [n, r.peakRssMb])),
    };
  } finally {
    await sink.close();
    await Promise.all([api, worker].map(killHard));
    await temporal.stop();
    await database.drop();
  }
}

/** A new database beside the benchmark's, on the same server, and how to drop it. */
async function freshDatabase(benchUrl: string, commit: string) {
  const server = new URL(benchUrl);
  const name = `${server.pathname.slice(1)}_${commit.replace(/\W/g, "_")}`;
  server.pathname = "/postgres";
  const admin = postgres(server.toString(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(benchUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}
