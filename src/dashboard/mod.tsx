/**
 * The dashboard at `/`: server-rendered pages over the API itself. Each action calls the API
 * in-process as the signed-in session's organization, so the same rules and errors apply.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Context } from "hono";
import { Badge, Flash, Page, PostForm, STYLESHEET, Time } from "./layout.tsx";
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
}

interface Webhook {
  id: string;
  name: string;
  url: string;
  status: string;
  deactivationReason: string | null;
  deactivatedAt: number | null;
  hasVerifyToken: boolean;
  createdAt: number;
}

interface Attempt {
  run: number;
  number: number;
  startedAt: number;
  durationMs: number;
  responseStatus: number | null;
  error: string | null;
  responseBody: string | null;
}

interface Payload {
  id: string;
  event: string;
  status: string;
  run: number;
  createdAt: number;
  attemptLog: Attempt[];
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

  app.get("/assets/dashboard.css", (c) =>
    c.body(STYLESHEET, 200, {
      "content-type": "text/css; charset=utf-8",
      "cache-control": "public, max-age=3600",
    }));

  async function webhooksPage(
    c: Context<DashboardEnv>,
    flash: { error?: string; notice?: string; secret?: string },
  ) {
    const csrf = c.get("session").csrfToken;
    const list = await call(c, "GET", "/v1/webhooks?limit=100");
    if (!list.ok) flash = { ...flash, error: errorText(list) };
    const webhooks: Webhook[] = list.json?.data ?? [];
    return c.html(
      <Page title="Webhooks" csrf={csrf}>
        <h1>Webhooks</h1>
        <Flash error={flash.error} notice={flash.notice} />
        {flash.secret && (
          <div class="notice" role="status" id="signing-secret">
            Signing secret (shown only now; keep it to verify signatures):{" "}
            <code data-secret>{flash.secret}</code>
          </div>
        )}
        <div class="card">
          <h2>Create webhook</h2>
          <PostForm action="/webhooks" csrf={csrf}>
            <label>
              Payload URL{" "}
              <input type="url" name="url" required placeholder="https://example.com/webhooks" />
            </label>
            <label>
              Name (optional) <input type="text" name="name" />
            </label>
            <label>
              Verify token (optional) <input type="text" name="verifyToken" />
            </label>
            <button type="submit">Create webhook</button>
          </PostForm>
        </div>
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>URL</th>
              <th>Status</th>
              <th>Deactivation reason</th>
              <th>Created</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {webhooks.length === 0 && (
              <tr>
                <td colspan={6}>No webhooks yet.</td>
              </tr>
            )}
            {webhooks.map((w) => (
              <tr data-webhook={w.id}>
                <td>
                  <a href={`/webhooks/${w.id}`}>{w.name}</a>
                </td>
                <td>
                  <code>{w.url}</code>
                </td>
                <td>
                  <Badge status={w.status} />
                </td>
                <td>{w.deactivationReason ?? "-"}</td>
                <td>
                  <Time ms={w.createdAt} />
                </td>
                <td>
                  <details class="menu">
                    <summary>Actions</summary>
                    <div>
                      {[["activate", "Activate"], ["deactivate", "Deactivate"], [
                        "rotate-secret",
                        "Rotate secret",
                      ], ["delete", "Delete"]].map(([action, label]) => (
                        <PostForm action={`/webhooks/${w.id}/${action}`} csrf={csrf}>
                          <button type="submit">{label}</button>
                        </PostForm>
                      ))}
                    </div>
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Page>,
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
    const answer = await options.callApi("/v1/webhooks?limit=1", {
      headers: { authorization: `Bearer ${key}` },
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

  app.get(
    "/webhooks",
    (c) => webhooksPage(c, { error: c.req.query("error"), notice: c.req.query("notice") }),
  );

  app.post("/webhooks", async (c) => {
    const form = await c.req.parseBody();
    const body: Record<string, string> = { url: String(form.url ?? "") };
    if (form.name) body.name = String(form.name);
    if (form.verifyToken) body.verifyToken = String(form.verifyToken);
    const answer = await call(c, "POST", "/v1/webhooks", body);
    if (!answer.ok) return webhooksPage(c, { error: errorText(answer) });
    return webhooksPage(c, {
      notice: `Webhook ${answer.json.name} created.`,
      secret: answer.json.signingSecret,
    });
  });

  app.post(`/webhooks/:id{${ID}}/:action{activate|deactivate|rotate-secret|delete}`, async (c) => {
    const { id, action } = c.req.param();
    const answer = action === "delete"
      ? await call(c, "DELETE", `/v1/webhooks/${id}`)
      : await call(c, "POST", `/v1/webhooks/${id}/${action}`);
    if (!answer.ok) return webhooksPage(c, { error: errorText(answer) });
    if (action === "rotate-secret") {
      return webhooksPage(c, {
        notice: "New signing secret issued; the old one also signs for 24 hours.",
        secret: answer.json.signingSecret,
      });
    }
    const done = { activate: "activated", deactivate: "deactivated", delete: "deleted" }[
      action as "activate" | "deactivate" | "delete"
    ];
    return c.redirect(`/webhooks?notice=${encodeURIComponent(`Webhook ${done}.`)}`, 303);
  });

  app.get(`/webhooks/:id{${ID}}`, async (c) => {
    const id = c.req.param("id");
    const csrf = c.get("session").csrfToken;
    const webhook = await call(c, "GET", `/v1/webhooks/${id}`);
    if (!webhook.ok) return webhooksPage(c, { error: errorText(webhook) });
    const list = await call(c, "GET", `/v1/webhooks/${id}/payloads?limit=50`);
    const payloads: Payload[] = await Promise.all(
      (list.json?.data ?? []).map(async (p: { id: string }) =>
        (await call(c, "GET", `/v1/payloads/${p.id}`)).json
      ),
    );
    const w: Webhook = webhook.json;
    const temporalLink = (payloadId: string) =>
      options.temporalUiUrl
        ? `${options.temporalUiUrl}/namespaces/${options.namespace}/workflows/payload:${payloadId}`
        : undefined;
    return c.html(
      <Page title={w.name} csrf={csrf}>
        <p>
          <a href="/webhooks">← Webhooks</a>
        </p>
        <h1>
          {w.name} <Badge status={w.status} title={w.deactivationReason ?? undefined} />
        </h1>
        <Flash error={c.req.query("error")} notice={c.req.query("notice")} />
        <p>
          <code>{w.url}</code>
          {w.deactivationReason && <span>— deactivated: {w.deactivationReason}</span>}
        </p>
        <h2>Deliveries</h2>
        <table>
          <thead>
            <tr>
              <th>Payload</th>
              <th>Event</th>
              <th>Status</th>
              <th>Attempts (status, latency, response)</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {payloads.length === 0 && (
              <tr>
                <td colspan={5}>No deliveries yet.</td>
              </tr>
            )}
            {payloads.map((p) => (
              <tr data-payload={p.id}>
                <td>
                  <code>{p.id}</code>
                  <br />
                  <Time ms={p.createdAt} />
                </td>
                <td>{p.event}</td>
                <td>
                  <Badge status={p.status} />
                </td>
                <td>
                  {p.attemptLog.map((a) => (
                    <div class="attempt">
                      #{a.number}
                      {a.run > 1 ? ` (run ${a.run})` : ""}:{" "}
                      <strong>{a.responseStatus ?? "error"}</strong> {a.durationMs} ms{" "}
                      {a.error && <em>{a.error}</em>}
                      {a.responseBody && <pre>{a.responseBody.slice(0, 200)}</pre>}
                    </div>
                  ))}
                </td>
                <td>
                  {(p.status === "failed" || p.status === "cancelled") && (
                    <PostForm action={`/payloads/${p.id}/resend?webhook=${w.id}`} csrf={csrf}>
                      <button type="submit">Resend</button>
                    </PostForm>
                  )}
                  {temporalLink(p.id) && (
                    <a href={temporalLink(p.id)} target="_blank" rel="noopener">
                      Workflow in Temporal UI
                    </a>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Page>,
    );
  });

  app.post(`/payloads/:id{${ID}}/resend`, async (c) => {
    const webhook = c.req.query("webhook") ?? "";
    const answer = await call(c, "POST", `/v1/payloads/${c.req.param("id")}/resend`);
    const flash = answer.ok
      ? `notice=${encodeURIComponent("Resent.")}`
      : `error=${encodeURIComponent(errorText(answer))}`;
    const back = new RegExp(`^${ID}$`).test(webhook) ? `/webhooks/${webhook}` : "/webhooks";
    return c.redirect(`${back}?${flash}`, 303);
  });

  return app;
}
