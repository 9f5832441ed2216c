/**
 * The dashboard at `/`: server-rendered pages over the API itself. Each action calls the API
 * in-process with the signed-in organization's key, so the same rules and errors apply.
 */
import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Context } from "hono";
import { Badge, bannerOnEveryPage, Flash, Page, Time } from "./layout.tsx";

const COOKIE = "herald_key";

/** What the dashboard needs: a way to call the API, and where the Temporal Web UI is. */
export interface DashboardOptions {
  /** Calls the API in-process; `env` carries the client's connection (its address). */
  callApi: (path: string, init: RequestInit, env?: unknown) => Promise<Response>;
  temporalUiUrl?: string;
  namespace: string;
  /** A warning for every page (no worker polls, say), or undefined. */
  banner?: () => Promise<string | undefined>;
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
  const app = new Hono();
  app.use("*", bannerOnEveryPage(options.banner));

  async function call(c: Context, method: string, path: string, body?: unknown) {
    const key = getCookie(c, COOKIE) ?? "";
    const response = await options.callApi(path, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }, c.env);
    const text = await response.text();
    // deno-lint-ignore no-explicit-any
    const json: any = text ? JSON.parse(text) : null;
    return { status: response.status, ok: response.ok, json };
  }

  const errorText = (answer: { json: { error?: { message?: string } } | null }) =>
    answer.json?.error?.message ?? "Something went wrong";

  async function webhooksPage(
    c: Context,
    flash: { error?: string; notice?: string; secret?: string },
  ) {
    const list = await call(c, "GET", "/v1/webhooks?limit=100");
    if (list.status === 401) return c.redirect("/?error=Please+sign+in");
    const webhooks: Webhook[] = list.json?.data ?? [];
    return c.html(
      <Page title="Webhooks" signedIn>
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
          <form method="post" action="/webhooks">
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
          </form>
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
                        <form method="post" action={`/webhooks/${w.id}/${action}`}>
                          <button type="submit">{label}</button>
                        </form>
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

  app.get("/", (c) => {
    if (getCookie(c, COOKIE)) return c.redirect("/webhooks");
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
    const form = await c.req.parseBody();
    const key = String(form.apiKey ?? "").trim();
    const answer = await options.callApi("/v1/webhooks?limit=1", {
      headers: { authorization: `Bearer ${key}` },
    }, c.env);
    await answer.body?.cancel();
    if (answer.status !== 200) return c.redirect("/?error=That+API+key+was+not+accepted");
    setCookie(c, COOKIE, key, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      secure: new URL(c.req.url).protocol === "https:",
    });
    return c.redirect("/webhooks");
  });

  app.post("/sign-out", (c) => {
    deleteCookie(c, COOKIE, { path: "/" });
    return c.redirect("/");
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

  app.post("/webhooks/:id/:action{activate|deactivate|rotate-secret|delete}", async (c) => {
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
    return c.redirect(`/webhooks?notice=${encodeURIComponent(`Webhook ${done}.`)}`);
  });

  app.get("/webhooks/:id", async (c) => {
    const id = c.req.param("id");
    const webhook = await call(c, "GET", `/v1/webhooks/${id}`);
    if (webhook.status === 401) return c.redirect("/?error=Please+sign+in");
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
      <Page title={w.name} signedIn>
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
                    <form method="post" action={`/payloads/${p.id}/resend?webhook=${w.id}`}>
                      <button type="submit">Resend</button>
                    </form>
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

  app.post("/payloads/:id/resend", async (c) => {
    const webhook = c.req.query("webhook") ?? "";
    const answer = await call(c, "POST", `/v1/payloads/${c.req.param("id")}/resend`);
    const flash = answer.ok
      ? `notice=${encodeURIComponent("Resent.")}`
      : `error=${encodeURIComponent(errorText(answer))}`;
    return c.redirect(`/webhooks/${encodeURIComponent(webhook)}?${flash}`);
  });

  return app;
}
