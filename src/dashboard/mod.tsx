/**
 * The dashboard at `/`: server-rendered pages over the API itself. Each action calls the API
 * in-process, through the typed client, as the signed-in session's organization, so the same
 * rules and errors apply. The webhook list's 24-hour totals come from one use case call.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Context } from "hono";
import { bannerOnEveryPage, Flash, Page, STYLESHEET } from "./layout.tsx";
import {
  type DeliveryFilter,
  type Flashes,
  OrganizationsPage,
  PAYLOAD_STATUSES,
  PayloadPage,
  WebhookPage,
  WebhooksPage,
} from "./pages.tsx";
import {
  type DashboardEnv,
  fromOwnOrigin,
  overTls,
  refusedPost,
  requireSession,
  SESSION_COOKIE,
  type SessionStore,
} from "./guard.ts";
import { DASHBOARD_PRINCIPAL } from "../api/auth.ts";
import { type HeraldClient, heraldClient, type paths, type Schemas } from "../client/mod.ts";
import { contentSecurityPolicy } from "../api/content_policy.ts";
import { PORTAL_PATH } from "../api/portal_links.ts";
import { PLATFORM_ORGANIZATION_ID } from "../domain/operational_events.ts";
import type { PayloadStatus } from "../domain/types.ts";
import type { platformOverview } from "../usecases/platform_overview.ts";
import type { AttemptTotals } from "../usecases/webhook_stats.ts";
import { noteSession, pageContextOnEveryPage } from "./page_context.ts";

/** An id in a dashboard path, as the API's ids are: anything else is no page. */
const ID = "[A-Za-z0-9_-]{1,64}";
/** What an API key looks like; anything else is refused before it reaches a header. */
const API_KEY = /^hk_[A-Za-z0-9_-]{1,200}$/;
/** What may be tried as the admin token: printable, no spaces, so it fits in a header. */
const ADMIN_TOKEN = /^[\x21-\x7e]{1,500}$/;
/** Every path of the dashboard's pages. */
const PAGE_PATHS = [
  "/",
  PORTAL_PATH,
  "/sign-in",
  "/sign-out",
  "/organizations",
  "/organizations/*",
  "/webhooks",
  "/webhooks/*",
  "/payloads/*",
];
/** The pages of one organization: an admin session reaches them once it has opened one. */
const ORGANIZATION_PATHS = ["/webhooks", "/webhooks/*", "/payloads/*"];
/** Form posts are small; the API has its own limit for what they carry on. */
const MAX_FORM_BYTES = 64 * 1024;
/**
 * The typed client's base URL: never dialled, since its calls go to the app in-process, which is
 * given only their path and query.
 */
const IN_PROCESS_BASE_URL = "http://herald.internal";

/** A form's fields, as Hono parses them. */
type Form = Record<string, unknown>;
/** The body of a webhook's creation. */
type NewWebhook = paths["/v1/webhooks"]["post"]["requestBody"]["content"]["application/json"];
/** The body of a change to a webhook. */
type WebhookChanges =
  paths["/v1/webhooks/{id}"]["patch"]["requestBody"]["content"]["application/json"];

/** What the dashboard needs: a way to call the API, and where the Temporal Web UI is. */
export interface DashboardOptions {
  /** Calls the API in-process; `env` carries the client's connection (its address). */
  callApi: (path: string, init: RequestInit, env?: unknown) => Promise<Response>;
  /** Where sessions live. */
  sessions: SessionStore;
  /** Whether X-Forwarded-Proto and X-Forwarded-Host from a proxy in front are believed. */
  trustProxy: boolean;
  /** PORTAL_FRAME_ANCESTORS and PORTAL_TITLE: who may frame the pages, and the name they show. */
  portal: { frameAncestors: string[]; title: string };
  /** What the admin token's pages list, and an organization's name. */
  platform: {
    overview: () => ReturnType<typeof platformOverview>;
    organizationName: (id: string) => Promise<string | undefined>;
  };
  temporalUiUrl?: string;
  namespace: string;
  /** A warning for every page (no worker polls, say), or undefined. */
  banner?: () => Promise<string | undefined>;
  /** The 24-hour attempt totals of a page of the organization's webhooks, in one query. */
  attemptTotals: (
    organizationId: string,
    webhookIds: string[],
  ) => Promise<Map<string, AttemptTotals>>;
  /** The events a deactivated webhook missed since its deactivation (a replay's `since`). */
  missedEvents?: (
    organizationId: string,
    webhookId: string,
  ) => Promise<{ since: number; count: number } | undefined>;
}

/** Event types typed as a list: commas or spaces between them. */
function eventTypesOf(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

/**
 * A form's text where the API takes a narrower type, sent as it was typed: the API's own check
 * answers a bad value, with the message a direct call would get.
 */
function unchecked<T>(text: string): T {
  return text as unknown as T;
}

/**
 * A form's rate limit: empty is none; anything else goes to the API as a number (or as the text
 * itself when it is not one), so the API's own check answers a bad value.
 */
function rateLimitOf(value: unknown): number | null {
  const text = String(value ?? "").trim();
  if (text === "") return null;
  const number = Number(text);
  return Number.isFinite(number) ? number : unchecked<number>(text);
}

/**
 * Headers typed one `Name: value` per line. A line without a colon is kept whole as a name, so
 * the API refuses it with its own message rather than the dashboard dropping it.
 */
function headersOf(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const colon = line.indexOf(":");
    if (colon < 0) headers[line.trim()] = "";
    else headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** The body of a webhook's creation from the create form: only the fields filled in. */
function newWebhookOf(form: Form): NewWebhook {
  const body: NewWebhook = { url: String(form.url ?? "") };
  if (form.name) body.name = String(form.name);
  if (form.verifyToken) body.verifyToken = String(form.verifyToken);
  const eventTypes = eventTypesOf(String(form.eventTypes ?? ""));
  if (eventTypes.length > 0) body.eventTypes = eventTypes;
  const headers = headersOf(String(form.headers ?? ""));
  if (Object.keys(headers).length > 0) body.headers = headers;
  const rateLimit = rateLimitOf(form.rateLimit);
  if (rateLimit !== null) body.rateLimit = rateLimit;
  return body;
}

/** The changes the settings form asks for. */
function webhookChangesOf(form: Form): WebhookChanges {
  const body: WebhookChanges = { url: String(form.url ?? ""), name: String(form.name ?? "") };
  // An empty field keeps the token: the page never shows it, so it cannot send it back.
  if (form.clearVerifyToken) body.verifyToken = null;
  else if (form.verifyToken) body.verifyToken = String(form.verifyToken);
  body.eventTypes = eventTypesOf(String(form.eventTypes ?? ""));
  // Header values are never shown, so an empty field keeps them; the box removes them all.
  const headers = headersOf(String(form.headers ?? ""));
  if (form.clearHeaders) body.headers = {};
  else if (Object.keys(headers).length > 0) body.headers = headers;
  body.rateLimit = rateLimitOf(form.rateLimit);
  if (form.ordering) body.ordering = unchecked<WebhookChanges["ordering"]>(String(form.ordering));
  return body;
}

/** The API's message for a failed call. */
function errorText(error: Schemas["Error"] | undefined): string {
  return error?.error?.message ?? "Something went wrong";
}

/** The delivery list's filters and page, as the page's query has them. */
function deliveryFilterOf(c: Context): DeliveryFilter {
  const status = c.req.query("status");
  return {
    status: (PAYLOAD_STATUSES as readonly string[]).includes(status ?? "")
      ? status as PayloadStatus
      : undefined,
    event: c.req.query("event")?.trim() || undefined,
    cursor: c.req.query("cursor") || undefined,
  };
}

/**
 * Activates, deactivates or deletes a webhook; `error` is the API's answer when it refused.
 */
async function changeWebhook(herald: HeraldClient, id: string, action: string) {
  const params = { path: { id } };
  const answer = action === "delete"
    ? await herald.DELETE("/v1/webhooks/{id}", { params })
    : action === "activate"
    ? await herald.POST("/v1/webhooks/{id}/activate", { params })
    : await herald.POST("/v1/webhooks/{id}/deactivate", { params });
  return { ok: answer.response.ok, error: answer.error };
}

/** Whether a path is one of a route pattern's (`/webhooks/*` or `/webhooks`). */
function matches(path: string, pattern: string): boolean {
  return pattern.endsWith("/*") ? path.startsWith(pattern.slice(0, -1)) : path === pattern;
}

/**
 * Asks the API whether it accepts a key (or, for the admin, the token), on a route only that
 * credential may read; the API counts a failure against the same client as a direct call would
 * (TRUST_PROXY).
 */
async function askApi(
  options: DashboardOptions,
  c: Context,
  key: string,
  admin: boolean,
): Promise<Response> {
  const forwardedFor = c.req.header("x-forwarded-for");
  const answer = await options.callApi(
    admin ? "/v1/operational-webhooks?limit=1" : "/v1/webhooks?limit=1",
    {
      headers: {
        authorization: `Bearer ${key}`,
        ...(forwardedFor ? { "x-forwarded-for": forwardedFor } : {}),
      },
    },
    c.env,
  );
  await answer.body?.cancel();
  return answer;
}

/** The steps every page goes through: page context, framing, form limits, session, banner. */
function useDashboardSteps(app: Hono<DashboardEnv>, options: DashboardOptions) {
  const guard = requireSession(options.sessions, options.trustProxy);
  const formLimit = bodyLimit({
    maxSize: MAX_FORM_BYTES,
    onError: (c) => c.text("Form too large", 413),
  });
  // First, so every later step (the session guard) writes into the page context.
  const { frameAncestors } = options.portal;
  for (const path of [...PAGE_PATHS, "/assets/*"]) {
    app.use(path, pageContextOnEveryPage(options.portal.title));
    // Framed by the origins PORTAL_FRAME_ANCESTORS names, where it names any.
    if (frameAncestors.length > 0) {
      app.use(path, async (c, next) => {
        await next();
        c.header("content-security-policy", contentSecurityPolicy(frameAncestors));
      });
    }
  }
  const guarded = [...ORGANIZATION_PATHS, "/organizations", "/organizations/*", "/sign-out"];
  for (const path of guarded) {
    app.use(path, formLimit, guard);
  }
  app.use("/sign-in", formLimit);
  for (const path of ["/", "/organizations", "/organizations/*", ...ORGANIZATION_PATHS]) {
    app.use(path, bannerOnEveryPage(options.banner));
  }
  for (const path of guarded) {
    app.use(path, async (c, next) => {
      const session = c.get("session");
      if (session.kind !== "admin") {
        // Only the admin token's session lists organizations.
        if (c.req.path.startsWith("/organizations")) return c.redirect("/webhooks", 303);
        noteSession(session.expiresAt);
      } else {
        const open = session.organizationId;
        const organization = open ? await options.platform.organizationName(open) : undefined;
        noteSession(session.expiresAt, { organization });
        // An organization's pages need one open: the list is where one is chosen.
        if (!organization && ORGANIZATION_PATHS.some((p) => matches(c.req.path, p))) {
          return c.redirect("/organizations", 303);
        }
      }
      await next();
    });
  }
}

/** The typed API client as the session's organization, from the client's address. */
function apiAs(options: DashboardOptions, c: Context<DashboardEnv>): HeraldClient {
  const session = c.get("session");
  const client = c.env as { remoteAddr?: unknown } | undefined;
  const env = {
    remoteAddr: client?.remoteAddr,
    // Every page that calls has an organization (an admin session without one is sent to the
    // list before).
    [DASHBOARD_PRINCIPAL]: { organizationId: session.organizationId!, keyHash: session.keyHash },
  };
  return heraldClient({
    baseUrl: IN_PROCESS_BASE_URL,
    fetch: async (request) => {
      const url = new URL(request.url);
      return await options.callApi(url.pathname + url.search, {
        method: request.method,
        headers: request.headers,
        body: request.body ? await request.text() : undefined,
      }, env);
    },
  });
}
const flashOf = (c: Context): Flashes => ({
  error: c.req.query("error"),
  notice: c.req.query("notice"),
});
/** Back to a page with a message (Post/Redirect/Get); secrets never go in a URL. */
const back = (c: Context, path: string, flash: { error?: string; notice?: string }) => {
  const [name, text] = flash.error ? ["error", flash.error] : ["notice", flash.notice ?? ""];
  return c.redirect(`${path}?${name}=${encodeURIComponent(text)}`, 303);
};

/** The list: one call for the page of webhooks, one query for all their 24-hour totals. */
async function webhooksPage(options: DashboardOptions, c: Context<DashboardEnv>, flash: Flashes) {
  const cursor = c.req.query("cursor") || undefined;
  const list = await apiAs(options, c).GET("/v1/webhooks", {
    params: { query: { limit: 20, cursor } },
  });
  if (!list.data) flash = { ...flash, error: errorText(list.error) };
  const webhooks = list.data?.data ?? [];
  const totals = await options.attemptTotals(
    c.get("session").organizationId!,
    webhooks.map((webhook) => webhook.id),
  );
  return c.html(
    <WebhooksPage
      csrf={c.get("session").csrfToken}
      webhooks={webhooks.map((webhook) => ({ webhook, totals: totals.get(webhook.id) }))}
      nextCursor={list.data?.nextCursor ?? null}
      flash={flash}
    />,
  );
}

async function webhookPage(
  options: DashboardOptions,
  c: Context<DashboardEnv>,
  id: string,
  flash: Flashes,
) {
  const herald = apiAs(options, c);
  const path = { id };
  const webhook = await herald.GET("/v1/webhooks/{id}", { params: { path } });
  if (!webhook.data) return webhooksPage(options, c, { error: errorText(webhook.error) });
  const filter = deliveryFilterOf(c);
  const [stats, list, missed] = await Promise.all([
    herald.GET("/v1/webhooks/{id}/stats", { params: { path } }),
    herald.GET("/v1/webhooks/{id}/payloads", { params: { path, query: filter } }),
    options.missedEvents?.(c.get("session").organizationId!, id),
  ]);
  // Gone between the two calls (deleted meanwhile): back to the list, as when it was not found.
  if (!stats.data) return webhooksPage(options, c, { error: errorText(stats.error) });
  if (!list.data) flash = { ...flash, error: errorText(list.error) };
  return c.html(
    <WebhookPage
      csrf={c.get("session").csrfToken}
      webhook={webhook.data}
      stats={stats.data}
      payloads={list.data?.data ?? []}
      nextCursor={list.data?.nextCursor ?? null}
      filter={filter}
      missed={missed}
      flash={flash}
    />,
  );
}

/** Builds the dashboard's routes. */
export function dashboardRouter(options: DashboardOptions) {
  const app = new Hono<DashboardEnv>();
  useDashboardSteps(app, options);
  app.get("/assets/dashboard.css", (c) =>
    c.body(STYLESHEET, 200, {
      "content-type": "text/css; charset=utf-8",
      "cache-control": "public, max-age=3600",
    }));

  app.get("/", async (c) => {
    const id = getCookie(c, SESSION_COOKIE);
    if (id) {
      const session = await options.sessions.find(id);
      if (session) return c.redirect(session.kind === "admin" ? "/organizations" : "/webhooks");
      // A dead session shows the sign-in page, never a redirect back to where it was refused.
      deleteCookie(c, SESSION_COOKIE, { path: "/" });
    }
    return c.html(
      <Page title="Sign in">
        <h1>Sign in</h1>
        <Flash error={c.req.query("error")} />
        <div class="card">
          <form method="post" action="/sign-in">
            <label>
              Organization API key (or the admin token){" "}
              <input type="password" name="apiKey" required placeholder="hk_…" />
            </label>
            <button type="submit">Sign in</button>
          </form>
        </div>
      </Page>,
    );
  });

  app.post("/sign-in", async (c) => {
    // A sign-in posted from another page would sign the browser in to someone else's account.
    if (!fromOwnOrigin(c, options.trustProxy)) return refusedPost(c);
    const form = await c.req.parseBody();
    const given = typeof form.apiKey === "string" ? form.apiKey.trim() : "";
    // Not a key's shape: maybe the admin token, checked by an admin-only route. Anything that is
    // neither's shape still counts as a failed sign-in for the address.
    const admin = !given.startsWith("hk_") && ADMIN_TOKEN.test(given);
    const key = API_KEY.test(given) || admin ? given : "hk_not-a-key";
    const answer = await askApi(options, c, key, admin);
    const session = !answer.ok
      ? undefined
      : admin
      ? await options.sessions.openAdmin(key)
      : await options.sessions.open(key);
    if (!session) {
      const error = answer.status === 429
        ? "Too many failed sign-ins from this address; try again in a minute"
        : "That API key was not accepted";
      return c.redirect(`/?error=${encodeURIComponent(error)}`, 303);
    }
    setCookie(c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      secure: overTls(c, options.trustProxy),
      expires: new Date(session.expiresAt),
    });
    return c.redirect(admin ? "/organizations" : "/webhooks", 303);
  });

  app.get(PORTAL_PATH, async (c) => {
    const session = await options.sessions.openPortal(c.req.query("token") ?? "");
    if (!session) {
      return c.html(
        <Page title="Link expired">
          <h1>This link has expired</h1>
          <p role="alert">
            A portal link opens the dashboard once, for a few minutes. Open it again from{" "}
            {options.portal.title === "Herald" ? "where you found it" : options.portal.title}.
          </p>
        </Page>,
        410,
      );
    }
    // A framed page is another site's: its cookie must be sent there too (SameSite=None, which
    // needs Secure; browsers take Secure cookies from http://localhost and 127.0.0.1 too), kept
    // apart per embedding site (Partitioned). The CSRF token and the Origin check still guard
    // every form.
    setCookie(c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      path: "/",
      expires: new Date(session.expiresAt),
      ...(options.portal.frameAncestors.length > 0
        ? { sameSite: "None", secure: true, partitioned: true }
        : { sameSite: "Strict", secure: overTls(c, options.trustProxy) }),
    });
    return c.redirect("/webhooks", 303);
  });

  app.get("/organizations", async (c) => {
    return c.html(
      <OrganizationsPage
        csrf={c.get("session").csrfToken}
        overview={await options.platform.overview()}
        platformId={PLATFORM_ORGANIZATION_ID}
        flash={flashOf(c)}
      />,
    );
  });

  app.post(`/organizations/:id{${ID}}/open`, async (c) => {
    const id = c.req.param("id");
    if (!await options.platform.organizationName(id)) {
      return back(c, "/organizations", { error: "Organization not found" });
    }
    await options.sessions.openOrganization(c.get("session").id, id);
    const webhook = String((await c.req.parseBody()).webhook ?? "");
    return c.redirect(
      new RegExp(`^${ID}$`).test(webhook) ? `/webhooks/${webhook}` : "/webhooks",
      303,
    );
  });

  app.post("/sign-out", async (c) => {
    await options.sessions.close(c.get("session").id);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.redirect("/", 303);
  });

  app.get("/webhooks", (c) => webhooksPage(options, c, flashOf(c)));

  app.post("/webhooks", async (c) => {
    const body = newWebhookOf(await c.req.parseBody());
    const { data, error } = await apiAs(options, c).POST("/v1/webhooks", { body });
    if (!data) return webhooksPage(options, c, { error: errorText(error) });
    return webhookPage(options, c, data.id, {
      notice: `Webhook ${data.name} created.`,
      secret: data.signingSecret,
    });
  });

  app.get(`/webhooks/:id{${ID}}`, (c) => webhookPage(options, c, c.req.param("id"), flashOf(c)));

  app.post(`/webhooks/:id{${ID}}/:action{activate|deactivate|delete}`, async (c) => {
    const { id, action } = c.req.param();
    const herald = apiAs(options, c);
    const answer = await changeWebhook(herald, id, action);
    if (!answer.ok) return back(c, `/webhooks/${id}`, { error: errorText(answer.error) });
    if (action === "delete") return back(c, "/webhooks", { notice: "Webhook deleted." });
    if (action === "deactivate") {
      return back(c, `/webhooks/${id}`, { notice: "Webhook deactivated." });
    }
    // "Also send the events missed": a replay since the time the page counted them from.
    const since = Number((await c.req.parseBody()).replaySince);
    if (!Number.isSafeInteger(since) || since <= 0) {
      return back(c, `/webhooks/${id}`, { notice: "Webhook reactivated." });
    }
    const replay = await herald.POST("/v1/webhooks/{id}/replay", {
      params: { path: { id } },
      body: { since },
    });
    if (!replay.data) {
      return back(c, `/webhooks/${id}`, {
        error: `Webhook reactivated, but the missed events were not sent: ${
          errorText(replay.error)
        }`,
      });
    }
    return back(c, `/webhooks/${id}`, {
      notice: `Webhook reactivated; ${replay.data.count} missed event(s) sent.`,
    });
  });

  app.post(`/webhooks/:id{${ID}}/:action{rotate-secret|reveal-secret}`, async (c) => {
    const { id, action } = c.req.param();
    const params = { path: { id } };
    const { data, error } = action === "rotate-secret"
      ? await apiAs(options, c).POST("/v1/webhooks/{id}/rotate-secret", { params })
      : await apiAs(options, c).GET("/v1/webhooks/{id}/secret", { params });
    if (!data) return back(c, `/webhooks/${id}`, { error: errorText(error) });
    return webhookPage(options, c, id, {
      notice: action === "rotate-secret"
        ? "New signing secret issued; the old one also signs for 24 hours."
        : undefined,
      secret: data.signingSecret,
    });
  });

  app.post(`/webhooks/:id{${ID}}/edit`, async (c) => {
    const id = c.req.param("id");
    const body = webhookChangesOf(await c.req.parseBody());
    const { data, error } = await apiAs(options, c).PATCH("/v1/webhooks/{id}", {
      params: { path: { id } },
      body,
    });
    if (!data) return webhookPage(options, c, id, { error: errorText(error) });
    return back(c, `/webhooks/${id}`, { notice: "Settings saved." });
  });

  app.post(`/webhooks/:id{${ID}}/test`, async (c) => {
    const id = c.req.param("id");
    const { data, error } = await apiAs(options, c).POST("/v1/webhooks/{id}/test", {
      params: { path: { id } },
    });
    if (!data) return back(c, `/webhooks/${id}`, { error: errorText(error) });
    return back(c, `/webhooks/${id}`, {
      notice: `Test event sent: payload ${data.id}. It never deactivates the webhook.`,
    });
  });

  app.post(`/webhooks/:id{${ID}}/recover`, async (c) => {
    const id = c.req.param("id");
    const form = await c.req.parseBody();
    // The form's local time is read as UTC, as every time on these pages is shown.
    const since = Date.parse(`${String(form.since ?? "")}Z`);
    if (!Number.isFinite(since)) return back(c, `/webhooks/${id}`, { error: "Pick a time" });
    const { data, error } = await apiAs(options, c).POST("/v1/webhooks/{id}/recover", {
      params: { path: { id } },
      body: { since },
    });
    if (!data) return back(c, `/webhooks/${id}`, { error: errorText(error) });
    return back(c, `/webhooks/${id}`, { notice: `${data.count} payload(s) sent again.` });
  });

  app.get(`/payloads/:id{${ID}}`, async (c) => {
    const herald = apiAs(options, c);
    const payload = await herald.GET("/v1/payloads/{id}", {
      params: { path: { id: c.req.param("id") } },
    });
    if (!payload.data) return webhooksPage(options, c, { error: errorText(payload.error) });
    const webhook = await herald.GET("/v1/webhooks/{id}", {
      params: { path: { id: payload.data.webhookId } },
    });
    const temporalLink = options.temporalUiUrl
      ? `${options.temporalUiUrl}/namespaces/${encodeURIComponent(options.namespace)}` +
        `/workflows/${payload.data.workflowId}`
      : undefined;
    return c.html(
      <PayloadPage
        csrf={c.get("session").csrfToken}
        payload={payload.data}
        webhook={webhook.data}
        temporalLink={temporalLink}
        flash={flashOf(c)}
      />,
    );
  });

  app.post(`/payloads/:id{${ID}}/resend`, async (c) => {
    const id = c.req.param("id");
    const { response, error } = await apiAs(options, c).POST("/v1/payloads/{id}/resend", {
      params: { path: { id } },
    });
    return back(
      c,
      `/payloads/${id}`,
      response.ok ? { notice: "Sent again." } : { error: errorText(error) },
    );
  });

  return app;
}
