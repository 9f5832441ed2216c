/**
 * `/healthz`, `/readyz` and `/metrics`: served by the API, and by a worker that runs apart on its
 * own port (WORKER_METRICS_PORT), so every process can be probed and scraped.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { Client } from "@temporalio/client";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.ts";
import { ApiError } from "./errors.ts";
import { timingSafeEqual } from "../domain/secrets.ts";
import { OPEN_STATUSES } from "../domain/types.ts";
import { renderGauges, renderMetrics } from "../metrics.ts";
import { scrapeSdkMetrics } from "../temporal/sdk_metrics.ts";
import {
  checkReadiness,
  isReady,
  notReadyReasons,
  type PollerWatch,
} from "../usecases/readiness.ts";
import { VERSION } from "../version.ts";

/** How long the database gauges of /metrics are reused. */
const GAUGE_TTL_MS = 10_000;

/** What the probes read. */
export interface ProbeDeps {
  db: Kysely<Database>;
  temporal: Client;
  /** The bearer token /metrics requires (METRICS_TOKEN); undefined leaves it open. */
  metricsToken: string | undefined;
  /** Whether this process's worker runs; absent where none runs in this process. */
  workerRunning?: () => boolean;
  /** Pollers of Herald's task queues (the API reports them); absent on a worker alone. */
  pollers?: PollerWatch;
  /** Whether /metrics shows the database gauges (the API does; a worker alone does not). */
  databaseGauges?: boolean;
}

/** The database gauges: open payloads (an index range, not the whole table) and webhooks. */
async function readDatabaseGauges(db: Kysely<Database>): Promise<string> {
  const [payloads, webhooks] = await Promise.all([
    db.selectFrom("payloads").select(["status", (eb) => eb.fn.countAll<number>().as("n")])
      .where("status", "in", OPEN_STATUSES).groupBy("status").execute(),
    db.selectFrom("webhooks").select(["status", (eb) => eb.fn.countAll<number>().as("n")])
      .where("deleted_at", "is", null).groupBy("status").execute(),
  ]);
  return renderGauges([
    {
      name: "herald_payloads",
      help: "Open payloads by status (pending: no workflow yet; delivering: its workflow runs)",
      values: OPEN_STATUSES.map((status) => [
        { status },
        Number(payloads.find((r) => r.status === status)?.n ?? 0),
      ]),
    },
    {
      name: "herald_webhooks",
      help: "Webhooks by status",
      values: webhooks.map((r) => [{ status: r.status }, Number(r.n)]),
    },
  ]);
}

function pollerGauge(pollers: Record<string, number> | undefined): string {
  if (!pollers) return "";
  return renderGauges([{
    name: "herald_task_queue_pollers",
    help:
      "Workers polling each of Herald's task queues, as Temporal last reported (0: events wait)",
    values: Object.entries(pollers).map(([queue, n]) => [{ queue }, n]),
  }]);
}

/** Whether the request carries the metrics token (always true when none is set). */
function metricsAllowed(c: Context, token: string | undefined): boolean {
  if (!token) return true;
  const given = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1] ?? "";
  return timingSafeEqual(given, token);
}

/** The three probe routes over a process's parts. */
export function probesRouter(deps: ProbeDeps) {
  const app = new Hono();

  app.get("/healthz", (c) => c.json({ status: "ok", version: VERSION }));

  app.get("/readyz", async (c) => {
    const [readiness, pollers, waiting] = await Promise.all([
      checkReadiness(deps),
      deps.pollers?.read(),
      deps.pollers?.waitingForWorkers(),
    ]);
    if (!isReady(readiness)) {
      const reasons = notReadyReasons(readiness);
      const details = [
        ...(readiness.database ? [] : [{ path: "database", message: "does not answer" }]),
        ...(readiness.temporal ? [] : [{ path: "temporal", message: "does not answer" }]),
        ...(readiness.worker === false ? [{ path: "worker", message: "is not running" }] : []),
      ];
      const error = new ApiError(503, "not_ready", `Not ready: ${reasons.join("; ")}`, details);
      return c.json(error.toJSON(), 503);
    }
    // No worker polling does not make this process unready: accepted events are durable and
    // wait safely, so the API keeps accepting them and says so.
    return c.json({
      status: "ready",
      database: "ok",
      temporal: "ok",
      ...(readiness.worker ? { worker: "running" } : {}),
      ...(pollers ? { pollers } : {}),
      ...(waiting ? { warning: waiting } : {}),
    });
  });

  let gauges: { at: number; text: Promise<string> } | undefined;
  app.get("/metrics", async (c) => {
    if (!metricsAllowed(c, deps.metricsToken)) {
      const error = new ApiError(
        401,
        "unauthorized",
        "Send the metrics token: Authorization: Bearer <METRICS_TOKEN>",
      );
      return c.json(error.toJSON(), 401);
    }
    // Read at most once per GAUGE_TTL_MS however often Prometheus scrapes.
    if (deps.databaseGauges && (!gauges || performance.now() - gauges.at > GAUGE_TTL_MS)) {
      const text = readDatabaseGauges(deps.db);
      gauges = { at: performance.now(), text };
      text.catch(() => (gauges = undefined));
    }
    const [database, pollers, sdk] = await Promise.all([
      // A database that does not answer leaves its gauges out; the rest is still served.
      (gauges?.text ?? Promise.resolve("")).catch(() => ""),
      deps.pollers?.read(),
      scrapeSdkMetrics(),
    ]);
    const body = renderMetrics([]) + database + pollerGauge(pollers) + sdk;
    return c.text(body, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });

  return app;
}

/** The probes alone, as the HTTP server of a worker that runs without the API. */
export function workerProbesApp(deps: ProbeDeps) {
  const app = probesRouter(deps);
  app.notFound((c) =>
    c.json(
      new ApiError(404, "not_found", "This port serves /healthz, /readyz and /metrics").toJSON(),
      404,
    )
  );
  return app;
}
