/** The HTTP API: one Hono app built from its dependencies. */
import { OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { AppDeps, AppEnv } from "./deps.ts";
import { ApiError } from "./errors.ts";
import { timingSafeEqual } from "../domain/secrets.ts";
import { OPEN_STATUSES } from "../domain/types.ts";
import { checkBody, checkPathAndQuery } from "./input.ts";
import { RateLimiter } from "./rate_limit.ts";
import { AuthFailures } from "./auth_failures.ts";
import { organizationsRouter } from "./organizations.ts";
import { webhooksRouter } from "./webhooks.ts";
import { webhookLifecycleRouter } from "./webhook_lifecycle.ts";
import { contactsRouter } from "./contacts.ts";
import { eventsRouter } from "./events.ts";
import { eventTypesRouter } from "./event_types.ts";
import { payloadsRouter } from "./payloads.ts";
import { pingDatabase } from "../db/mod.ts";
import { pingTemporal } from "../temporal/client.ts";
import { log } from "../log.ts";
import { metrics, renderGauges, renderMetrics } from "../metrics.ts";
import { VERSION } from "../version.ts";
import { loadConfig } from "../config.ts";
import { dashboardRouter } from "../dashboard/mod.tsx";
import { withinMs } from "../deadline.ts";

/** How long the database gauges of /metrics are reused. */
const GAUGE_TTL_MS = 10_000;

/** The largest request body accepted. */
export const MAX_BODY_BYTES = 1024 * 1024;

async function answers(check: () => Promise<unknown>, timeoutMs = 2_000): Promise<boolean> {
  try {
    await withinMs(check(), timeoutMs, "the check");
    return true;
  } catch {
    return false;
  }
}

/** Builds the whole API over its dependencies. */
export function createApp(given: AppDeps) {
  const deps = {
    ...given,
    rateLimiter: given.rateLimiter ?? new RateLimiter(given.config.apiRateLimit),
    authFailures: given.authFailures ?? new AuthFailures(given.config.authFailureLimit),
  };
  const app = new OpenAPIHono<AppEnv>();

  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    const route = c.req.routePath;
    metrics.httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
    log.info("request", {
      method: c.req.method,
      path: c.req.path,
      route,
      status: c.res.status,
      durationMs: Math.round(performance.now() - started),
    });
  });
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, "payload_too_large", "Request body is over 1 MiB");
      },
    }),
  );

  // One input rule at the edge: no request reaches a route with text PostgreSQL cannot store.
  app.use("*", checkPathAndQuery);
  app.use("/v1/*", checkBody);

  app.get("/healthz", (c) => c.json({ status: "ok", version: VERSION }));
  app.get("/readyz", async (c) => {
    const [database, temporal] = await Promise.all([
      answers(() => pingDatabase(deps.db)),
      answers(() => pingTemporal(deps.temporal)),
    ]);
    if (database && temporal) return c.json({ status: "ready", database: "ok", temporal: "ok" });
    const down = [!database && "PostgreSQL", !temporal && "Temporal"].filter(Boolean).join(" and ");
    return c.json(
      new ApiError(503, "not_ready", `Not ready: ${down} does not answer`, [
        ...(!database ? [{ path: "database", message: "does not answer" }] : []),
        ...(!temporal ? [{ path: "temporal", message: "does not answer" }] : []),
      ]).toJSON(),
      503,
    );
  });

  // The database gauges count open payloads only (an index range, not the whole table), and
  // are read at most once per GAUGE_TTL_MS however often Prometheus scrapes.
  let gauges: { at: number; text: Promise<string> } | undefined;
  const readGauges = async () => {
    const [payloads, webhooks] = await Promise.all([
      deps.db.selectFrom("payloads").select(["status", (eb) => eb.fn.countAll<number>().as("n")])
        .where("status", "in", OPEN_STATUSES).groupBy("status").execute(),
      deps.db.selectFrom("webhooks").select(["status", (eb) => eb.fn.countAll<number>().as("n")])
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
  };
  app.get("/metrics", async (c) => {
    const token = deps.config.metricsToken;
    if (
      token &&
      !timingSafeEqual(
        /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1] ?? "",
        token,
      )
    ) {
      throw new ApiError(
        401,
        "unauthorized",
        "Send the metrics token: Authorization: Bearer <METRICS_TOKEN>",
      );
    }
    if (!gauges || performance.now() - gauges.at > GAUGE_TTL_MS) {
      const text = readGauges();
      gauges = { at: performance.now(), text };
      text.catch(() => (gauges = undefined));
    }
    const body = renderMetrics([]) + await gauges.text;
    return c.text(body, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });

  app.route("/v1/organizations", organizationsRouter(deps));
  app.route("/v1/webhooks", webhooksRouter(deps));
  app.route("/v1/webhooks", webhookLifecycleRouter(deps));
  app.route("/v1/contacts", contactsRouter(deps));
  app.route("/v1/events", eventsRouter(deps));
  app.route("/v1/event-types", eventTypesRouter(deps));
  app.route("/v1/payloads", payloadsRouter(deps));

  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", {
    type: "http",
    scheme: "bearer",
    description: "The admin token (ADMIN_TOKEN, or generated on first start)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "An organization's API key (hk_…)",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Herald",
      version: VERSION,
      description: "Webhook delivery: one Temporal workflow per payload.",
    },
  });
  app.get("/docs", Scalar({ url: "/openapi.json", pageTitle: "Herald API" }));

  app.route(
    "/",
    dashboardRouter({
      callApi: (path, init, env) => Promise.resolve(app.request(path, init, env)),
      temporalUiUrl: deps.temporalUiUrl,
      namespace: deps.config.temporal.namespace,
    }),
  );

  app.notFound(() => {
    throw new ApiError(404, "not_found", "No such route");
  });
  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json(err.toJSON(), err.status, err.headers);
    if (err instanceof HTTPException) {
      if (err.status === 400) {
        const message = /json/i.test(err.message)
          ? "Malformed JSON in request body"
          : `Bad request: ${err.message}`;
        const code = /json/i.test(err.message) ? "malformed_json" : "bad_request";
        return c.json(new ApiError(400, code, message).toJSON(), 400);
      }
      if (err.status === 415) {
        const unsupported = new ApiError(
          415,
          "unsupported_media_type",
          "Send the request body as application/json",
        );
        return c.json(unsupported.toJSON(), 415);
      }
      return c.json(
        new ApiError(err.status, "http_error", err.message || "Request failed").toJSON(),
        err.status,
      );
    }
    log.error("unhandled error", {
      path: c.req.path,
      error: String(err),
      stack: (err as Error)?.stack,
    });
    return c.json(new ApiError(500, "internal_error", "Internal error").toJSON(), 500);
  });

  return app;
}

/** The app's type, for typed clients. */
export type HeraldApp = ReturnType<typeof createApp>;

/** The OpenAPI document alone: built from the routes' schemas, without a database or Temporal. */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const app = createApp({
    db: undefined as never,
    temporal: undefined as never,
    config: loadConfig({}),
    adminToken: "hadm_document_only_0123456789",
  });
  return await (await app.request("/openapi.json")).json();
}
