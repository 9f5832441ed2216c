/** Bearer authentication: the admin token, or an organization's API key. */
import { createMiddleware } from "hono/factory";
import type { AppDeps, AppEnv } from "./deps.ts";
import { ApiError } from "./errors.ts";
import { hashToken, timingSafeEqual } from "../domain/secrets.ts";
import { clientAddress } from "./auth_failures.ts";
import type { Context, Next } from "hono";

/**
 * Where an in-process call from a dashboard session carries the organization it acts for: a key
 * of the call's environment, which no HTTP request can set.
 */
export const DASHBOARD_PRINCIPAL = Symbol("dashboard principal");

/** The organization a dashboard session acts for, and the hash of the key it was opened with. */
export interface DashboardPrincipal {
  organizationId: string;
  keyHash: string;
}

/**
 * The organization an in-process dashboard call acts for (taking one request from its key's
 * rate), or undefined when this is not one.
 */
function dashboardOrganization(deps: AppDeps, c: Context): string | undefined {
  const env = c.env as Record<symbol, DashboardPrincipal | undefined> | undefined;
  const principal = env?.[DASHBOARD_PRINCIPAL];
  if (principal) deps.rateLimiter?.take(principal.keyHash);
  return principal?.organizationId;
}

function bearer(header: string | undefined): string {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  if (!match) {
    throw new ApiError(
      401,
      "unauthorized",
      "Missing bearer token: send Authorization: Bearer <token>",
    );
  }
  return match[1]!;
}

/** The organization an API key belongs to (and one request taken from its rate), or undefined. */
async function organizationOfKey(deps: AppDeps, token: string): Promise<string | undefined> {
  if (!token.startsWith("hk_")) return undefined;
  // Keys are looked up by their hash: no comparison of the secret itself leaks timing.
  const hash = await hashToken(token);
  const row = await deps.db.selectFrom("api_keys").select("organization_id")
    .where("key_hash", "=", hash).where("revoked_at", "is", null)
    .executeTakeFirst();
  if (row) deps.rateLimiter?.take(hash);
  return row?.organization_id;
}

/**
 * Runs an authentication step. Only a refusal counts against the client, and only a refusal is
 * throttled (429 past the client's failures): a valid credential always passes.
 */
async function authenticate(
  deps: AppDeps,
  c: Context<AppEnv>,
  next: Next,
  check: () => Promise<void>,
) {
  try {
    await check();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      deps.authFailures?.recordFailure(clientAddress(c, deps.config.trustProxy));
    }
    throw err;
  }
  await next();
}

/** Lets through the admin token only. */
export function requireAdmin(deps: AppDeps) {
  return createMiddleware<AppEnv>((c, next) =>
    authenticate(deps, c, next, () => {
      const token = bearer(c.req.header("authorization"));
      if (!timingSafeEqual(token, deps.adminToken)) {
        throw new ApiError(401, "unauthorized", "Invalid admin token");
      }
      c.set("isAdmin", true);
      return Promise.resolve();
    })
  );
}

/** Lets through an organization's API key (or a dashboard session), and sets `organizationId`. */
export function requireApiKey(deps: AppDeps) {
  return createMiddleware<AppEnv>((c, next) =>
    authenticate(deps, c, next, async () => {
      const organizationId = dashboardOrganization(deps, c) ??
        await organizationOfKey(deps, bearer(c.req.header("authorization")));
      if (!organizationId) throw new ApiError(401, "unauthorized", "Invalid API key");
      c.set("organizationId", organizationId);
      c.set("isAdmin", false);
    })
  );
}

/** Lets through the admin token or an API key (which then sees its own organization only). */
export function requireAdminOrApiKey(deps: AppDeps) {
  return createMiddleware<AppEnv>((c, next) =>
    authenticate(deps, c, next, async () => {
      const fromDashboard = dashboardOrganization(deps, c);
      if (fromDashboard) {
        c.set("organizationId", fromDashboard);
        c.set("isAdmin", false);
        return;
      }
      const token = bearer(c.req.header("authorization"));
      if (timingSafeEqual(token, deps.adminToken)) {
        c.set("isAdmin", true);
      } else {
        const organizationId = await organizationOfKey(deps, token);
        if (!organizationId) throw new ApiError(401, "unauthorized", "Invalid token");
        c.set("organizationId", organizationId);
        c.set("isAdmin", false);
      }
    })
  );
}
