/**
 * The dashboard at `/`: server-rendered pages over the API itself. Each action calls the API
 * in-process as the signed-in session's organization, so the same rules and errors apply.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Context } from "hono";
import { bannerOnEveryPage, Flash, Page, STYLESHEET } from "./layout.tsx";
import {
  type DeliveryFilter,
  filterQuery,
  type Flashes,
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

/** An id in a dashboard path, as the API's ids are: anything else is no page. */
const ID = "[A-Za-z0-9_-]{1,64}";
/** What an API key looks like; anything else is refused before it reaches a header. */
const API_KEY = /^hk_[A-Za-z0-9_-]{1,200}$/;
/** Form posts are small; the API has its own limit for what they carry on. */
const MAX_FORM_BYTES = 64 * 1024;

/** What the dashboard needs: a way to call the API, and where the Temporal Web UI is. */
export interface DashboardOptions {
  /** Calls the API in-process; `env` carries the client's connection (its address). */
  callApi: (path: string, init: RequestInit, env?: unknown) => Promise<Response>;
  /** Where sessions live. */
  sessions: SessionStore;
  /** Whether X-Forwarded-Proto and X-Forwarded-Host from a proxy in front are believed. */
  trustProxy: boolean;
  temporalUiUrl?: string;
  namespace: string;
  /** A warning for every page (no worker polls, say), or undefined. */
  banner?: () => Promise<string | undefined>;
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

/** Builds the dashboard's routes. */
export function dashboardRouter(options: DashboardOptions) {
  const app = new Hono<DashboardEnv>();
  const guard = requireSession(options.sessions, options.trustProxy);
  const formLimit = bodyLimit({
    maxSize: MAX_FORM_BYTES,
    onError: (c) => c.text("Form too large", 413),
  });
  for (const path of ["/webhooks", "/webhooks/*", "/payloads/*", "/sign-out"]) {
    app.use(path, formLimit, guard);
  }
  app.use("/sign-in", formLimit);
  for (const path of ["/", "/webhooks", "/webhooks/*", "/payloads/*"]) {
    app.use(path, bannerOnEveryPage(options.banner));
  }

  /** Calls the API as the session's organization, from the client's address. */
  async function call(c: Context<DashboardEnv>, method: string, path: string, body?: unknown) {
    const session = c.get("session");
    const client = c.env as { remoteAddr?: unknown } | undefined;
    const response = await options.callApi(path, {
      method,
      headers: body !== undefined ? { "content-type": "application/json" } : {},
      body: body === undefined ? undefined : JSON.stringify(body),
    }, {
      remoteAddr: client?.remoteAddr,
      [DASHBOARD_PRINCIPAL]: { organizationId: session.organizationId, keyHash: session.keyHash },
    });
    const text = await response.text();
    // deno-lint-ignore no-explicit-any
    const json: any = text ? JSON.parse(text) : null;
    return { status: response.status, ok: response.ok, json };
  }

  const errorText = (answer: { json: { error?: { message?: string } } | null }) =>
    answer.json?.error?.message ?? "Something went wrong";
  const flashOf = (c: Context): Flashes => ({
    error: c.req.query("error"),
    notice: c.req.query("notice"),
  });
  /** Back to a page with a message (Post/Redirect/Get); secrets never go in a URL. */
  const back = (c: Context, path: string, flash: { error?: string; notice?: string }) => {
    const [name, text] = flash.error ? ["error", flash.error] : ["notice", flash.notice ?? ""];
    return c.redirect(`${path}?${name}=${encodeURIComponent(text)}`, 303);
  };

  app.get("/assets/dashboard.css", (c) =>
    c.body(STYLESHEET, 200, {
      "content-type": "text/css; charset=utf-8",
      "cache-control": "public, max-age=3600",
    }));

  async function webhooksPage(c: Context<DashboardEnv>, flash: Flashes) {
    const cursor = c.req.query("cursor");
    const query = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const list = await call(c, "GET", `/v1/webhooks?limit=20${query}`);
    if (!list.ok) flash = { ...flash, error: errorText(list) };
    const webhooks = await Promise.all(
      (list.json?.data ?? []).map(async (webhook: { id: string }) => {
        const stats = await call(c, "GET", `/v1/webhooks/${webhook.id}/stats`);
        return { webhook, stats: stats.ok ? stats.json : undefined };
      }),
    );
    return c.html(
      <WebhooksPage
        csrf={c.get("session").csrfToken}
        webhooks={webhooks}
        nextCursor={list.json?.nextCursor ?? null}
        flash={flash}
      />,
    );
  }

  async function webhookPage(c: Context<DashboardEnv>, id: string, flash: Flashes) {
    const webhook = await call(c, "GET", `/v1/webhooks/${id}`);
    if (!webhook.ok) return webhooksPage(c, { error: errorText(webhook) });
    const status = c.req.query("status");
    const filter: DeliveryFilter = {
      status: status && PAYLOAD_STATUSES.includes(status) ? status : undefined,
      event: c.req.query("event")?.trim() || undefined,
      cursor: c.req.query("cursor") || undefined,
    };
    const [stats, list, missed] = await Promise.all([
      call(c, "GET", `/v1/webhooks/${id}/stats`),
      call(c, "GET", `/v1/webhooks/${id}/payloads${filterQuery(filter)}`),
      options.missedEvents?.(c.get("session").organizationId, id),
    ]);
    if (!list.ok) flash = { ...flash, error: errorText(list) };
    return c.html(
      <WebhookPage
        csrf={c.get("session").csrfToken}
        webhook={webhook.json}
        stats={stats.json}
        payloads={list.ok ? list.json.data : []}
        nextCursor={list.ok ? list.json.nextCursor : null}
        filter={filter}
        missed={missed}
        flash={flash}
      />,
    );
  }

  app.get("/", async (c) => {
    const id = getCookie(c, SESSION_COOKIE);
    if (id) {
      if (await options.sessions.find(id)) return c.redirect("/webhooks");
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
              Organization API key{" "}
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
    // Anything that is not a key's shape still counts as a failed sign-in for the address.
    const key = API_KEY.test(given) ? given : "hk_not-a-key";
    // The API counts a failure against the same client as a direct call would (TRUST_PROXY).
    const forwardedFor = c.req.header("x-forwarded-for");
    const answer = await options.callApi("/v1/webhooks?limit=1", {
      headers: {
        authorization: `Bearer ${key}`,
        ...(forwardedFor ? { "x-forwarded-for": forwardedFor } : {}),
      },
    }, c.env);
    await answer.body?.cancel();
    const session = answer.status === 200 ? await options.sessions.open(key) : undefined;
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
    return c.redirect("/webhooks", 303);
  });

  app.post("/sign-out", async (c) => {
    await options.sessions.close(c.get("session").id);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.redirect("/", 303);
  });

  app.get("/webhooks", (c) => webhooksPage(c, flashOf(c)));

  app.post("/webhooks", async (c) => {
    const form = await c.req.parseBody();
    const body: Record<string, unknown> = { url: String(form.url ?? "") };
    if (form.name) body.name = String(form.name);
    if (form.verifyToken) body.verifyToken = String(form.verifyToken);
    const eventTypes = eventTypesOf(String(form.eventTypes ?? ""));
    if (eventTypes.length > 0) body.eventTypes = eventTypes;
    const headers = headersOf(String(form.headers ?? ""));
    if (Object.keys(headers).length > 0) body.headers = headers;
    const answer = await call(c, "POST", "/v1/webhooks", body);
    if (!answer.ok) return webhooksPage(c, { error: errorText(answer) });
    return webhookPage(c, answer.json.id, {
      notice: `Webhook ${answer.json.name} created.`,
      secret: answer.json.signingSecret,
    });
  });

  app.get(`/webhooks/:id{${ID}}`, (c) => webhookPage(c, c.req.param("id"), flashOf(c)));

  app.post(`/webhooks/:id{${ID}}/:action{activate|deactivate|delete}`, async (c) => {
    const { id, action } = c.req.param();
    const answer = action === "delete"
      ? await call(c, "DELETE", `/v1/webhooks/${id}`)
      : await call(c, "POST", `/v1/webhooks/${id}/${action}`);
    if (!answer.ok) return back(c, `/webhooks/${id}`, { error: errorText(answer) });
    if (action === "delete") return back(c, "/webhooks", { notice: "Webhook deleted." });
    if (action === "deactivate") {
      return back(c, `/webhooks/${id}`, { notice: "Webhook deactivated." });
    }
    // "Also send the events missed": a replay since the time the page counted them from.
    const since = Number((await c.req.parseBody()).replaySince);
    if (!Number.isSafeInteger(since) || since <= 0) {
      return back(c, `/webhooks/${id}`, { notice: "Webhook reactivated." });
    }
    const replay = await call(c, "POST", `/v1/webhooks/${id}/replay`, { since });
    if (!replay.ok) {
      return back(c, `/webhooks/${id}`, {
        error: `Webhook reactivated, but the missed events were not sent: ${errorText(replay)}`,
      });
    }
    return back(c, `/webhooks/${id}`, {
      notice: `Webhook reactivated; ${replay.json.count} missed event(s) sent.`,
    });
  });

  app.post(`/webhooks/:id{${ID}}/:action{rotate-secret|reveal-secret}`, async (c) => {
    const { id, action } = c.req.param();
    const answer = action === "rotate-secret"
      ? await call(c, "POST", `/v1/webhooks/${id}/rotate-secret`)
      : await call(c, "GET", `/v1/webhooks/${id}/secret`);
    if (!answer.ok) return back(c, `/webhooks/${id}`, { error: errorText(answer) });
    return webhookPage(c, id, {
      notice: action === "rotate-secret"
        ? "New signing secret issued; the old one also signs for 24 hours."
        : undefined,
      secret: answer.json.signingSecret,
    });
  });

  app.post(`/webhooks/:id{${ID}}/edit`, async (c) => {
    const id = c.req.param("id");
    const form = await c.req.parseBody();
    const body: Record<string, unknown> = {
      url: String(form.url ?? ""),
      name: String(form.name ?? ""),
    };
    // An empty field keeps the token: the page never shows it, so it cannot send it back.
    if (form.clearVerifyToken) body.verifyToken = null;
    else if (form.verifyToken) body.verifyToken = String(form.verifyToken);
    body.eventTypes = eventTypesOf(String(form.eventTypes ?? ""));
    // Header values are never shown, so an empty field keeps them; the box removes them all.
    const headers = headersOf(String(form.headers ?? ""));
    if (form.clearHeaders) body.headers = {};
    else if (Object.keys(headers).length > 0) body.headers = headers;
    if (form.ordering) body.ordering = String(form.ordering);
    const answer = await call(c, "PATCH", `/v1/webhooks/${id}`, body);
    if (!answer.ok) return webhookPage(c, id, { error: errorText(answer) });
    return back(c, `/webhooks/${id}`, { notice: "Settings saved." });
  });

  app.post(`/webhooks/:id{${ID}}/test`, async (c) => {
    const id = c.req.param("id");
    const answer = await call(c, "POST", `/v1/webhooks/${id}/test`);
    if (!answer.ok) return back(c, `/webhooks/${id}`, { error: errorText(answer) });
    return back(c, `/webhooks/${id}`, {
      notice: `Test event sent: payload ${answer.json.id}. It never deactivates the webhook.`,
    });
  });

  app.post(`/webhooks/:id{${ID}}/recover`, async (c) => {
    const id = c.req.param("id");
    const form = await c.req.parseBody();
    // The form's local time is read as UTC, as every time on these pages is shown.
    const since = Date.parse(`${String(form.since ?? "")}Z`);
    if (!Number.isFinite(since)) return back(c, `/webhooks/${id}`, { error: "Pick a time" });
    const answer = await call(c, "POST", `/v1/webhooks/${id}/recover`, { since });
    if (!answer.ok) return back(c, `/webhooks/${id}`, { error: errorText(answer) });
    return back(c, `/webhooks/${id}`, {
      notice: `${answer.json.count} payload(s) sent again.`,
    });
  });

  app.get(`/payloads/:id{${ID}}`, async (c) => {
    const id = c.req.param("id");
    const payload = await call(c, "GET", `/v1/payloads/${id}`);
    if (!payload.ok) return webhooksPage(c, { error: errorText(payload) });
    const webhook = await call(c, "GET", `/v1/webhooks/${payload.json.webhookId}`);
    const temporalLink = options.temporalUiUrl
      ? `${options.temporalUiUrl}/namespaces/${encodeURIComponent(options.namespace)}` +
        `/workflows/${payload.json.workflowId}`
      : undefined;
    return c.html(
      <PayloadPage
        csrf={c.get("session").csrfToken}
        payload={payload.json}
        webhook={webhook.ok ? webhook.json : undefined}
        temporalLink={temporalLink}
        flash={flashOf(c)}
      />,
    );
  });

  app.post(`/payloads/:id{${ID}}/resend`, async (c) => {
    const id = c.req.param("id");
    const answer = await call(c, "POST", `/v1/payloads/${id}/resend`);
    return back(
      c,
      `/payloads/${id}`,
      answer.ok ? { notice: "Sent again." } : { error: errorText(answer) },
    );
  });

  return app;
}
