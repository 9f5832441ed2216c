/**
 * PUBLIC_HOSTS: the names Herald is reached by. A page on a name that rebinds to Herald's address
 * is same-origin with Herald in the browser, so it could read every answer that needs no bearer
 * token (`/metrics`, `/readyz`, the docs, the dashboard's sign-in); with the list set, those
 * answer only when the request names one of Herald's hosts. Address literals and `localhost`
 * always pass: no other site's page can have them as its origin.
 */
import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "./errors.ts";
import { isAddressLiteral, normalHost } from "../domain/url_policy.ts";

/**
 * The host a request names: the first X-Forwarded-Host when a proxy in front is trusted, else the
 * Host header (else the URL's host, for calls made inside the process).
 */
export function requestHost(c: Context, trustProxy: boolean): string {
  const forwarded = trustProxy
    ? c.req.header("x-forwarded-host")?.split(",")[0]?.trim() || undefined
    : undefined;
  return forwarded ?? c.req.header("host") ?? new URL(c.req.url).host;
}

/** `host` and `port` of a `host[:port]` text, the host as Herald compares hosts. */
function split(text: string): { host: string; port: string | undefined } {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(text.trim());
  return { host: normalHost(match?.[1] ?? text), port: match?.[2] };
}

/**
 * Whether `hostHeader` is one of `publicHosts` (an entry without a port matches any port), an
 * address literal or `localhost`; every host passes while the list is empty.
 */
export function isPublicHost(hostHeader: string, publicHosts: readonly string[]): boolean {
  if (publicHosts.length === 0) return true;
  const { host } = split(hostHeader);
  if (host === "localhost" || isAddressLiteral(host)) return true;
  return isListedHost(hostHeader, publicHosts);
}

/** Whether `hostHeader` is one of `publicHosts` itself (an entry without a port: any port). */
export function isListedHost(hostHeader: string, publicHosts: readonly string[]): boolean {
  const { host, port } = split(hostHeader);
  return publicHosts.some((entry) => {
    const allowed = split(entry);
    return allowed.host === host && (allowed.port === undefined || allowed.port === port);
  });
}

/**
 * Refuses (421) a request outside `/v1/` whose host is not one of PUBLIC_HOSTS. The API under
 * `/v1/` needs a bearer token, which a rebinding page does not have, and may be called by any name.
 */
export function requirePublicHost(
  publicHosts: readonly string[],
  trustProxy: boolean,
): MiddlewareHandler {
  return async (c, next) => {
    if (!c.req.path.startsWith("/v1/") && !isPublicHost(requestHost(c, trustProxy), publicHosts)) {
      throw new ApiError(
        421,
        "misdirected_request",
        "This host is not one of Herald's names: use a host listed in PUBLIC_HOSTS",
      );
    }
    await next();
  };
}
