/**
 * BENCHMARKS.md from a run's results, through `bench/BENCHMARKS.template.md`. Run alone
 * (`deno run --allow-read --allow-write bench/render.ts`) it renders bench/results.json again, after
 * a change to the template.
 */
import type { ProcessResources } from "./resources.ts";

/** The machine and run a table was measured on. */
export interface Machine {
  cores: number;
  memoryGb: number;
  deno: string;
  herald: string;
  mode: string;
  date: string;
  durationSeconds?: number;
  /** The commit measured (`+changes` when the working tree had uncommitted changes). */
  commit?: string;
}

/** A run's results as kept in a results file. */
interface Run {
  machine: Machine;
  results: Array<Record<string, unknown>>;
}

const dir = new URL("./", import.meta.url).pathname;

export function renderMarkdown(m: Machine, rs: Array<Record<string, unknown>>): string {
  // deno-lint-ignore no-explicit-any
  const get = (name: string) => rs.find((r) => r.scenario === name) as any;
  const res = (r: { resources: Record<string, ProcessResources> }, names: string[]) =>
    names.filter((p) => r.resources[p]).map((p) =>
      `${p} ${r.resources[p]!.peakRssMb} MB / ${r.resources[p]!.cpuSeconds} s`
    ).join("; ") || "-";
  const three = ["api", "worker", "temporal"];
  const ingest = get("ingest"),
    latency = get("latency"),
    tp = get("throughput"),
    one = get("oneProcessLatency"),
    fan = get("fanOut"),
    retry = get("retryTiming"),
    raw = get("rawLimit"),
    retention = get("retention"),
    ordering = get("ordering"),
    floor = get("floor"),
    burst = get("burst"),
    soak = get("soak");
  // deno-lint-ignore no-explicit-any
  const lat = (r: any) =>
    `${r.eventsPerSecond}/s: p50 ${r.p50Ms} ms, p95 ${r.p95Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms (${r.delivered}/${r.expected})`;
  const template = Deno.readTextFileSync(`${dir}BENCHMARKS.template.md`);
  const table = [
    "| scenario | result | peak RSS / CPU seconds in the scenario |",
    "| --- | --- | --- |",
    `| ingest (${ingest.concurrency} clients, ${ingest.seconds} s, 1 webhook per organization) | ${ingest.requestsPerSecond} requests/s, p50 ${ingest.p50Ms} ms, p99 ${ingest.p99Ms} ms | ${
      res(ingest, three)
    } |`,
    `| latency, API and worker apart (${
      latency.runs[0].seconds
    } s per rate): POST answered → attempt 1 received | ${latency.runs.map(lat).join("<br>")} | ${
      res(latency, three)
    } |`,
    `| latency, API and worker in one process (\`deno task start\`) | ${
      one.runs.map(lat).join("<br>")
    } | ${res(one, ["herald", "temporal"])} |`,
    `| throughput (10 webhooks per event, ${tp.steps[0] ? "steps" : ""} ${
      tp.steps.map((s: { targetDeliveriesPerSecond: number }) => s.targetDeliveriesPerSecond).join(
        ", ",
      )
    }/s) | highest sustained: ${tp.maxSustainedDeliveriesPerSecond} deliveries/s (${
      tp.steps.map((
        s: { targetDeliveriesPerSecond: number; deliveriesPerSecond: number; sustained: boolean },
      ) => `${s.targetDeliveriesPerSecond}→${s.deliveriesPerSecond}${s.sustained ? "" : " ✗"}`)
        .join(", ")
    }) | ${res(tp, three)} |`,
    `| fan-out: one event, time until the last webhook has it | ${
      fan.runs.map((r: { webhooks: number; lastReceivedMs: number }) =>
        `${r.webhooks}: ${r.lastReceivedMs} ms`
      ).join("; ")
    } | ${res(fan, three)} |`,
    `| retry timing (${retry.payloads} payloads answered 500, 5 s interval) | mean gap ${retry.meanGapMs} ms, max deviation ${retry.maxDeviationMs} ms over ${retry.gaps} gaps${
      retry.maxDeviationMsByGap
        ? ` (by gap, 1→2 to 4→5: ${retry.maxDeviationMsByGap.join(", ")} ms)`
        : ""
    } | ${res(retry, three)} |`,
    ...(ordering ? [orderingRow(ordering, res(ordering, three))] : []),
    ...(floor
      ? [
        `| floor: a bare workflow with one local activity that returns at once, same server (steps ${
          floor.steps.map((x: { targetWorkflowsPerSecond: number }) => x.targetWorkflowsPerSecond)
            .join(", ")
        }/s) | highest sustained: ${floor.maxSustainedWorkflowsPerSecond} workflows/s; CPU per workflow ${
          Object.entries(floor.cpuMsPerWorkflow as Record<string, number>)
            .map(([p, ms]) => `${p} ${ms} ms`).join(", ")
        }${
          floor.heraldSustainedRatio !== undefined
            ? `; Herald sustains ${floor.heraldSustainedRatio} of it, and costs above it per delivery ${
              Object.entries(floor.heraldCpuMsAboveFloor as Record<string, number>)
                .map(([p, ms]) => `${p} ${ms} ms`).join(", ")
            } (the API, which starts the workflows, has no counterpart in the floor)`
            : ""
        } | ${res(floor, ["worker", "temporal"])} |`,
      ]
      : []),
    ...(burst
      ? [
        `| burst: ${
          burst.runs[0].contacts
        } contacts imported (16 clients) into a receiver taking ${burst.receiverPerSecond}/s (429 beyond${
          aloneNote(burst)
        }) | ${
          // deno-lint-ignore no-explicit-any
          burst.runs.map((r: any) =>
            `rateLimit ${
              r.rateLimit ?? "none"
            }: ${r.delivered}/${r.contacts} delivered, ${r.limited} answers 429, peak ${r.peakPerSecond} POSTs/s received (${r.peakPerSecondSent} sent, by Herald's clock), last delivery after ${r.lastDeliverySeconds} s (import ${r.importSeconds} s), webhook ${
              r.webhookActive ? "active" : "deactivated"
            }`
          ).join("<br>")} | ${res(burst, three)} |`,
      ]
      : []),
    ...(soak ? [soakRow(soak)] : []),
    `| raw limit: plain keep-alive HTTPS POST loop (${raw.concurrency} at once) | ${raw.requestsPerSecond} requests/s; Herald's sustained rate is ${raw.heraldSustainedRatio} of it | - |`,
    ...(retention
      ? [
        `| retention: ${retention.oldPayloads} old final payloads with their attempts and events, ${retention.batchSize} per batch | ${retention.rowsPerSecond} rows/s (${retention.payloadsPerSecond} payloads/s), ${retention.batches} batches, longest ${retention.longestBatchMs} ms; a writer beside it waited at most ${retention.concurrentUpdateMs.max} ms; fresh and in-flight rows ${
          retention.survivorsIntact ? "intact" : "NOT intact"
        } | - |`,
      ]
      : []),
  ].join("\n");

  // Where the time goes: CPU per delivery by process, threads, and the Temporal server's profile.
  const perDelivery = Object.entries(tp.cpuMsPerDelivery as Record<string, number>)
    .map(([p, ms]) => `${p} ${ms} ms`).join(", ");
  const threads = ["api", "worker"].map((p) => {
    const t = tp.resources[p]?.threadCpuSeconds as Record<string, number> | undefined;
    if (!t) return "";
    const total = Object.values(t).reduce((a, b) => a + b, 0) || 1;
    const parts = Object.entries(t).sort((a, b) => b[1] - a[1]).slice(0, 5)
      .map(([name, cpu]) => `${name} ${Math.round((cpu / total) * 100)} %`);
    return `- ${p}: ${parts.join(", ")}`;
  }).filter(Boolean).join("\n");
  const profile = tp.temporalProfile
    ? `- temporal (perf, ${tp.temporalProfile.samples} samples): ${
      Object.entries(tp.temporalProfile.percentByPart as Record<string, number>)
        .map(([part, pct]) => `${part} ${pct} %`).join(", ")
    }`
    : "- temporal: no profile (perf is not installed)";
  const whereTimeGoes = [
    `CPU per delivery during the throughput scenario (${tp.delivered} deliveries): ${perDelivery}.`,
    "",
    "CPU by thread (Herald's processes) and by part of the program (the Temporal server):",
    "",
    threads,
    profile,
  ].join("\n");
  return template
    .replace(
      "{{machine}}",
      `${m.cores} cores, ${m.memoryGb} GiB; Deno ${m.deno}; Herald ${m.herald}${
        m.commit ? ` (${m.commit})` : ""
      }; ${m.mode} run of ${m.date.slice(0, 10)}`,
    )
    .replace("{{table}}", table)
    .replace("{{profile}}", whereTimeGoes)
    .replace(
      "{{versions}}",
      renderVersions(get("versions")?.versions) +
        (get("versions")?.measuredAlone
          ? `\n\nThis comparison ran alone (\`--only versions\`)${aloneNote(get("versions"))}.`
          : ""),
    )
    .replace("{{targets}}", renderTargets(rs))
    .replace("{{servers}}", renderServers(rs, readPostgresResults()))
    .replace(
      "{{duration}}",
      m.durationSeconds
        ? `${Math.floor(m.durationSeconds / 60)} min ${m.durationSeconds % 60} s`
        : "?",
    );
}

// deno-lint-ignore no-explicit-any
function renderVersions(versions: any[] | undefined): string {
  if (!versions?.length) {
    return "(This run compared no versions: `deno task bench --quick --compare <ref>,<ref>` does.)";
  }
  const name = (v: { version: string; commit: string }) =>
    v.version === v.commit ? v.commit : `${v.version} (${v.commit})`;
  const ratio = (after: number, before: number) => `×${(after / before).toFixed(2)}`;
  const table = [
    "| version | latency at 20 events/s, p50 / p99 | ingest, 16 clients: requests/s, p50 / p99 | 80 deliveries/s for the window: delivered per s, backlog drained after | CPU ms per delivery (API; worker; Temporal) | peak RSS (API; worker) |",
    "| --- | --- | --- | --- | --- | --- |",
    ...versions.map((v) =>
      `| ${name(v)} | ${v.latencyAt20PerSecond.p50Ms} / ${v.latencyAt20PerSecond.p99Ms} ms | ${
        v.ingest ? `${v.ingest.requestsPerSecond}/s, ${v.ingest.p50Ms} / ${v.ingest.p99Ms} ms` : "-"
      } | ${v.burst.deliveriesPerSecond}/s, ${v.burst.drainedAfterMs} ms | ${v.cpuMsPerDelivery.api}; ${v.cpuMsPerDelivery.worker}; ${v.cpuMsPerDelivery.temporal} | ${v.peakRssMb.api} MB; ${v.peakRssMb.worker} MB |`
    ),
  ];
  // Each version against the one before it, as ratios (below 1 is less time, CPU or memory).
  const steps = versions.slice(1).map((v, k) => {
    const b = versions[k];
    return `- ${name(b)} → ${name(v)}: latency p50 ${
      ratio(v.latencyAt20PerSecond.p50Ms, b.latencyAt20PerSecond.p50Ms)
    }, p99 ${ratio(v.latencyAt20PerSecond.p99Ms, b.latencyAt20PerSecond.p99Ms)}; ${
      v.ingest && b.ingest
        ? `ingest ${ratio(v.ingest.requestsPerSecond, b.ingest.requestsPerSecond)} the rate, p50 ${
          ratio(v.ingest.p50Ms, b.ingest.p50Ms)
        }; `
        : ""
    }backlog drained ${
      ratio(v.burst.drainedAfterMs, b.burst.drainedAfterMs)
    }; CPU per delivery: worker ${
      ratio(v.cpuMsPerDelivery.worker, b.cpuMsPerDelivery.worker)
    }, Temporal ${ratio(v.cpuMsPerDelivery.temporal, b.cpuMsPerDelivery.temporal)}; peak RSS: API ${
      ratio(v.peakRssMb.api, b.peakRssMb.api)
    }, worker ${ratio(v.peakRssMb.worker, b.peakRssMb.worker)}`;
  });
  return [...table, "", ...steps].join("\n");
}

/** The run against temporal-server on PostgreSQL, when one was kept beside these results. */
function readPostgresResults(): Run | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(`${dir}results-postgres.json`));
  } catch {
    return undefined;
  }
}

/**
 * Herald against the floor on each server: the embedded dev server of this run, and
 * temporal-server on PostgreSQL from `bench/results-postgres.json` when it is there.
 */
function renderServers(
  rs: Array<Record<string, unknown>>,
  postgres: Run | undefined,
): string {
  const column = (results: Array<Record<string, unknown>>): Record<string, string> | undefined => {
    // deno-lint-ignore no-explicit-any
    const get = (name: string) => results.find((r) => r.scenario === name) as any;
    const tp = get("throughput"), floor = get("floor"), ingest = get("ingest");
    const latency = get("latency");
    if (!tp || !floor) return undefined;
    const ms = (o: Record<string, number>, names: string[]) =>
      names.map((n) => o[n] ?? "-").join(" / ");
    return {
      herald: `${tp.maxSustainedDeliveriesPerSecond}/s`,
      floor: `${floor.maxSustainedWorkflowsPerSecond}/s`,
      ratio: String(floor.heraldSustainedRatio ?? "-"),
      heraldCpu: ms(tp.cpuMsPerDelivery, ["api", "worker", "temporal"]),
      floorCpu: ms(floor.cpuMsPerWorkflow, ["worker", "temporal"]),
      above: floor.heraldCpuMsAboveFloor
        ? ms(floor.heraldCpuMsAboveFloor, ["worker", "temporal"])
        : "-",
      ingest: ingest ? `${ingest.requestsPerSecond}/s, p50 ${ingest.p50Ms} ms` : "-",
      latency: latency?.runs?.[0]
        ? `p50 ${latency.runs[0].p50Ms} ms, p99 ${latency.runs[0].p99Ms} ms`
        : "-",
    };
  };
  const dev = column(rs);
  if (!dev) return "(This run did not measure the floor.)";
  const pg = postgres && column(postgres.results);
  const pgRun = postgres &&
    [postgres.machine.commit, postgres.machine.date.slice(0, 10)].filter(Boolean).join(", ");
  const rows: Array<[string, keyof typeof dev]> = [
    ["Herald, highest sustained deliveries/s (10 webhooks per event)", "herald"],
    ["floor, highest sustained workflows/s", "floor"],
    ["Herald's rate as a share of the floor's", "ratio"],
    ["Herald, CPU ms per delivery (api / worker / temporal)", "heraldCpu"],
    ["floor, CPU ms per workflow (worker / temporal)", "floorCpu"],
    ["Herald's CPU ms per delivery above the floor (worker / temporal)", "above"],
    ["ingest (16 clients, 1 webhook)", "ingest"],
    ["latency at 20 events/s, POST answered → attempt 1", "latency"],
  ];
  const header = pg
    ? `| | embedded dev server (SQLite) | temporal-server 1.29.1 on PostgreSQL, 4 shards (${pgRun}) |\n| --- | --- | --- |`
    : "| | embedded dev server (SQLite) |\n| --- | --- |";
  return [
    header,
    ...rows.map(([label, key]) => `| ${label} | ${dev[key]} |${pg ? ` ${pg[key]} |` : ""}`),
  ].join("\n");
}

/** The targets set for this machine, and what this run measured against each. */
function renderTargets(rs: Array<Record<string, unknown>>): string {
  // deno-lint-ignore no-explicit-any
  const get = (name: string) => rs.find((r) => r.scenario === name) as any;
  const tp = get("throughput"), latency = get("latency"), retry = get("retryTiming");
  const at100 = latency.runs.find((r: { eventsPerSecond: number }) => r.eventsPerSecond === 100);
  const peak = (name: string) =>
    Math.max(
      ...rs.map((r) =>
        (r.resources as Record<string, ProcessResources> | undefined)?.[name]?.peakRssMb ?? 0
      ),
    );
  const row = (target: string, measured: string, met: boolean) =>
    `| ${target} | ${measured} | ${met ? "met" : "not met"} |`;
  return [
    "| target | measured in this run | |",
    "| --- | --- | --- |",
    row(
      "at least 500 deliveries/s sustained",
      `${tp.maxSustainedDeliveriesPerSecond} deliveries/s`,
      tp.maxSustainedDeliveriesPerSecond >= 500,
    ),
    row(
      "at 100 events/s, first attempt p50 ≤ 30 ms and p99 ≤ 150 ms",
      `p50 ${at100.p50Ms} ms, p99 ${at100.p99Ms} ms`,
      at100.p50Ms <= 30 && at100.p99Ms <= 150,
    ),
    row(
      "retry gaps within 100 ms of 5 s",
      `max deviation ${retry.maxDeviationMs} ms over ${retry.gaps} gaps`,
      retry.maxDeviationMs <= 100,
    ),
    row(
      "each of Herald's processes under 200 MB RSS",
      `peak over all scenarios: API ${peak("api")} MB, worker ${peak("worker")} MB`,
      peak("api") < 200 && peak("worker") < 200,
    ),
  ].join("\n");
}

if (import.meta.main) {
  const { machine, results } = JSON.parse(await Deno.readTextFile(`${dir}results.json`));
  await Deno.writeTextFile(`${dir}../BENCHMARKS.md`, renderMarkdown(machine, results));
  console.log("rendered BENCHMARKS.md from bench/results.json");
}

/** Where a scenario was measured by a run of its own (`--only … --into-report`), that run. */
// deno-lint-ignore no-explicit-any
export function aloneNote(r: any): string {
  const alone = r?.measuredAlone;
  if (!alone) return "";
  return `; measured alone on ${String(alone.date).slice(0, 10)}${
    alone.commit ? ` (${alone.commit})` : ""
  }`;
}

/** The ordering scenario's row: the same workload without and with ordering, per hiccup status. */
// deno-lint-ignore no-explicit-any
export function orderingRow(o: any, resources: string): string {
  // deno-lint-ignore no-explicit-any
  const one = (name: string, r: any) =>
    `${name}: ${r.deliveriesPerSecond} deliveries/s (${r.delivered}/${r.expected} in ${r.seconds} s), ` +
    `first attempt p50 ${r.firstAttemptP50Ms} ms, p95 ${r.firstAttemptP95Ms} ms, ` +
    `${r.outOfOrder} out of order, ${r.staleContacts} stale contacts`;
  // deno-lint-ignore no-explicit-any
  const runs = (o.runs as any[]).map((run) =>
    `${run.hiccup}: ${one("none", run.none)}<br>${run.hiccup}: ${one("object", run.object)}`
  );
  return `| ordering (${o.contacts} contacts × ${o.updates} updates in sequence, one first attempt ` +
    `in four answered 503, then 500 (a 503 also paces the whole webhook), 5 s retry${
      aloneNote(o)
    }) | ${runs.join("<br>")} | ${resources} |`;
}

/** The soak's row: what was lost or sent twice, and each process's memory over the run. */
// deno-lint-ignore no-explicit-any
export function soakRow(r: any): string {
  type Memory = { startMb: number; endMb: number; peakMb: number; slopeMbPerHour: number };
  const memory = Object.entries(r.memory as Record<string, Memory>).map(([name, m]) =>
    `${name} ${m.startMb} → ${m.endMb} MB (peak ${m.peakMb}, slope ${m.slopeMbPerHour} MB/h)`
  ).join("; ");
  return `| soak: ${r.minutes} min at ${r.deliveriesPerSecond} deliveries/s to 5 webhooks, one receiver ` +
    `down 10 s of every minute${
      aloneNote(r)
    } | ${r.delivered}/${r.payloads} delivered, ${r.lost} ` +
    `lost, ${r.duplicates} sent again after a 200 | ${memory} |`;
}
