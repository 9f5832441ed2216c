/** The HTTP API: one Hono app built from its dependencies. */
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppDeps, AppEnv } from "./deps.ts";
import { ApiError } from "./errors.ts";
import { checkBody, checkPathAndQuery } from "./input.ts";
import { requirePublicHost } from "./public_hosts.ts";
import { RateLimiter } from "./rate_limit.ts";
import { AuthFailures } from "./auth_failures.ts";
import { organizationsRouter } from "./organizations.ts";
import { portalLinksRouter } from "./portal_links.ts";
import { webhooksRouter } from "./webhooks.ts";
import { webhookActionsRouter } from "./webhook_actions.ts";
import { webhookStatsRouter } from "./webhook_stats.ts";
import { contactsRouter } from "./contacts.ts";
import { eventsRouter } from "./events.ts";
import { eventTypesRouter } from "./event_types.ts";
import { payloadsRouter } from "./payloads.ts";
import { operationalWebhooksRouter } from "./operational_webhooks.ts";
import { log } from "../log.ts";
import { metrics } from "../metrics.ts";
import { probesRouter } from "./probes.ts";
import { PollerWatch } from "../usecases/readiness.ts";
import { VERSION } from "../version.ts";
import { loadConfig } from "../config.ts";
import { dashboardRouter } from "../dashboard/mod.tsx";
import {
  closeSession,
  findSession,
  openAdminSession,
  openOrganization,
  openPortalSession,
  openSession,
} from "../usecases/dashboard_sessions.ts";
import { organizationName, platformOverview } from "../usecases/platform_overview.ts";
import { allowsFraming, contentSecurityPolicy } from "./content_policy.ts";
import { docsRouter } from "./docs.ts";
import { missedSinceDeactivation } from "../usecases/replay.ts";
import { attemptTotals } from "../usecases/webhook_stats.ts";
import { traceRequests } from "../traces/spans.ts";

/** The largest request body accepted. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The policy of every answer that sets none: nothing but Herald's stylesheet, never framed. */
const DEFAULT_CSP = contentSecurityPolicy([]);

/** What every request goes through first: its span, log line and metric, headers, limits, checks. */
function useEdge(app: OpenAPIHono<AppEnv>, deps: AppDeps) {
  // First, so that the request's span covers every other step and is current in its handler.
  if (deps.config.traces) app.use("*", traceRequests());
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
  // Every answer: no framing, no type sniffing, and a policy that allows nothing a route did not ask for.
  app.use("*", async (c, next) => {
    await next();
    c.header("x-content-type-options", "nosniff");
    // A page whose policy names who may frame it (the portal, with PORTAL_FRAME_ANCESTORS) goes
    // without X-Frame-Options, which knows no list of origins.
    if (!allowsFraming(c.res.headers.get("content-security-policy"))) {
      c.header("x-frame-options", "DENY");
    }
    c.header("referrer-policy", "same-origin");
    if (!c.res.headers.has("content-security-policy")) {
      c.header("content-security-policy", DEFAULT_CSP);
    }
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
  // Where PUBLIC_HOSTS is set, what needs no token answers only to Herald's own names.
  app.use("*", requirePublicHost(deps.config.publicHosts, deps.config.trustProxy));
}

/** The OpenAPI document at /openapi.json, with its two security schemes. */
function describeApi(app: OpenAPIHono<AppEnv>) {
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
}

/** The dashboard, which calls this app in-process, so the same rules and messages apply. */
function dashboardOf(app: OpenAPIHono<AppEnv>, deps: AppDeps, pollers: PollerWatch) {
  return dashboardRouter({
    callApi: (path, init, env) => Promise.resolve(app.request(path, init, env)),
    sessions: {
      open: (apiKey) => openSession(deps.db, apiKey),
      openPortal: (token) => openPortalSession(deps.db, token),
      openAdmin: (token) => openAdminSession(deps.db, token),
      openOrganization: (id, organizationId) => openOrganization(deps.db, id, organizationId),
      find: (id) => findSession(deps.db, id, deps.adminToken),
      close: (id) => closeSession(deps.db, id),
    },
    trustProxy: deps.config.trustProxy,
    portal: deps.config.portal,
    platform: {
      overview: () => platformOverview(deps.db),
      organizationName: (id) => organizationName(deps.db, id),
    },
    temporalUiUrl: deps.temporalUiUrl,
    namespace: deps.config.temporal.namespace,
    banner: () => pollers.waitingForWorkers(),
    attemptTotals: (organizationId, webhookIds) =>
      attemptTotals(deps.db, organizationId, webhookIds),
    missedEvents: (organizationId, webhookId) =>
      missedSinceDeactivation(deps.db, organizationId, webhookId, deps.config.retentionMs),
  });
}

/** The error shape for every failure: ours, Hono's (bad JSON, media type), and the unforeseen. */
function errorAnswer(err: Error, c: Context<AppEnv>) {
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
  log.error("unhandled error", { path: c.req.path, error: String(err), stack: err?.stack });
  return c.json(new ApiError(500, "internal_error", "Internal error").toJSON(), 500);
}

/** Builds the whole API over its dependencies. */
export function createApp(given: AppDeps) {
  const deps = {
    ...given,
    rateLimiter: given.rateLimiter ?? new RateLimiter(given.config.apiRateLimit),
    authFailures: given.authFailures ?? new AuthFailures(given.config.authFailureLimit),
  };
  const app = new OpenAPIHono<AppEnv>();
  // One reader of Temporal's task queue description for /readyz, /metrics and the dashboard.
  const pollers = new PollerWatch(
    deps.temporal,
    deps.config.temporal.taskQueue,
    deps.workerRunning,
  );

  useEdge(app, deps);

  app.route(
    "/",
    probesRouter({
      db: deps.db,
      temporal: deps.temporal,
      metricsToken: deps.config.metricsToken,
      workerRunning: deps.workerRunning,
      pollers,
      databaseGauges: true,
    }),
  );

  app.route("/v1/organizations", organizationsRouter(deps));
  app.route("/v1/organizations", portalLinksRouter(deps));
  app.route("/v1/webhooks", webhooksRouter(deps));
  app.route("/v1/webhooks", webhookActionsRouter(deps));
  app.route("/v1/webhooks", webhookStatsRouter(deps));
  app.route("/v1/contacts", contactsRouter(deps));
  app.route("/v1/events", eventsRouter(deps));
  app.route("/v1/event-types", eventTypesRouter(deps));
  app.route("/v1/payloads", payloadsRouter(deps));
  app.route("/v1/operational-webhooks", operationalWebhooksRouter(deps));

  describeApi(app);
  app.route("/", docsRouter());

  app.route("/", dashboardOf(app, deps, pollers));

  app.notFound(() => {
    throw new ApiError(404, "not_found", "No such route");
  });
  app.onError(errorAnswer);

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
