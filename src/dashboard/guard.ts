/**
 * The dashboard's guard: every page but sign-in needs a live server-side session, and every form
 * post must come from a page of Herald's own host (Origin, else Referer) with the session's CSRF
 * token.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { timingSafeEqual } from "../domain/secrets.ts";
import { requestHost } from "../api/public_hosts.ts";
import type { DashboardSession } from "../usecases/dashboard_sessions.ts";

/** The cookie that holds the session id. */
export const SESSION_COOKIE = "herald_session";

/** The form field that carries the CSRF token. */
export const CSRF_FIELD = "_csrf";

/** Where sessions live (the database); handed in by the app. */
export interface SessionStore {
  open(apiKey: string): Promise<{ id: string; expiresAt: number } | undefined>;
  /** Opens the session of a portal link, once; undefined for a link unknown, used or expired. */
  openPortal(token: string): Promise<{ id: string; expiresAt: number } | undefined>;
  /** Opens a session for the admin token (checked by the caller). */
  openAdmin(adminToken: string): Promise<{ id: string; expiresAt: number }>;
  /** Makes an admin session act for an organization. */
  openOrganization(id: string, organizationId: string | null): Promise<void>;
  find(id: string): Promise<DashboardSession | undefined>;
  close(id: string): Promise<void>;
}

/** The dashboard's Hono environment: the session of a signed-in request. */
export interface DashboardEnv {
  Variables: { session: DashboardSession & { id: string } };
}

/** The first value of a forwarded header, set by a proxy Herald is told to trust. */
function forwarded(c: Context, name: string, trustProxy: boolean): string | undefined {
  if (!trustProxy) return undefined;
  return c.req.header(name)?.split(",")[0]?.trim() || undefined;
}

/** Whether the request reached Herald over TLS, directly or through a trusted proxy. */
export function overTls(c: Context, trustProxy: boolean): boolean {
  if (new URL(c.req.url).protocol === "https:") return true;
  return forwarded(c, "x-forwarded-proto", trustProxy)?.toLowerCase() === "https";
}

/**
 * Whether a form post came from a page of this very host and port. SameSite cookies alone would
 * let any port or sibling subdomain of the same site post. Where PUBLIC_HOSTS is set, the app has
 * already refused a host that is not one of Herald's names.
 */
export function fromOwnOrigin(c: Context, trustProxy: boolean): boolean {
  const source = c.req.header("origin") ?? c.req.header("referer");
  if (!source || source === "null") return false;
  let host: string;
  try {
    host = new URL(source).host;
  } catch {
    return false;
  }
  return host.toLowerCase() === requestHost(c, trustProxy).toLowerCase();
}

/** The answer to a form post that did not come from Herald's own page. */
export function refusedPost(c: Context) {
  return c.text(
    "Refused: this form was not sent from Herald's own page. Reload the page and try again.",
    403,
  );
}

/**
 * Needs a live session: without one the cookie is cleared and the browser goes to the sign-in
 * page (which never redirects back, so a bad cookie cannot loop). Posts also need the origin and
 * the CSRF token.
 */
export function requireSession(store: SessionStore, trustProxy: boolean) {
  return createMiddleware<DashboardEnv>(async (c, next) => {
    const id = getCookie(c, SESSION_COOKIE);
    const session = id ? await store.find(id) : undefined;
    if (!id || !session) {
      deleteCookie(c, SESSION_COOKIE, { path: "/" });
      return c.redirect(`/?error=${encodeURIComponent("Please sign in")}`, 303);
    }
    if (c.req.method === "POST") {
      const form = await c.req.parseBody();
      const token = typeof form[CSRF_FIELD] === "string" ? form[CSRF_FIELD] : "";
      if (!fromOwnOrigin(c, trustProxy) || !timingSafeEqual(token, session.csrfToken)) {
        return refusedPost(c);
      }
    }
    c.set("session", { ...session, id });
    await next();
  });
}
