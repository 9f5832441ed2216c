/**
 * `/v1/organizations/{id}/portal-links`: the admin token mints a single-use, short-lived link that
 * opens the dashboard for that organization alone, with no API key involved. A platform hands it
 * to its customer (or frames it in its own app, with PORTAL_FRAME_ANCESTORS).
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppDeps } from "./deps.ts";
import { notFound } from "./errors.ts";
import { newRouter } from "./router.ts";
import { requireAdmin } from "./auth.ts";
import { errorResponses, IdParam, jsonResponse, Millis } from "./schemas.ts";
import { isListedHost, requestHost } from "./public_hosts.ts";
import { overTls } from "../dashboard/guard.ts";
import { PLATFORM_ORGANIZATION_ID } from "../domain/operational_events.ts";
import {
  createPortalLink,
  PORTAL_LINK_LIFETIME_MS,
  PORTAL_SESSION_LIFETIME_MS,
} from "../usecases/dashboard_sessions.ts";

/** The path a portal link opens; its token goes in the query, which request logs leave out. */
export const PORTAL_PATH = "/portal";

const PortalLinkSchema = z.object({
  url: z.string().openapi({ example: "https://herald.example.com/portal?token=…" }),
  expiresAt: Millis.openapi({ description: "After this the link opens nothing" }),
  sessionExpiresIn: z.number().int().openapi({
    description: "Seconds the session it opens lasts",
    example: PORTAL_SESSION_LIFETIME_MS / 1000,
  }),
}).openapi("PortalLink");

/**
 * Where the link points: the origin the admin reached Herald by (a trusted proxy's, with
 * TRUST_PROXY), or the first of PUBLIC_HOSTS over HTTPS when that origin is not one of them (an
 * address or an internal name, which the customer's browser may not reach).
 */
function portalOrigin(c: Context, deps: AppDeps): string {
  const { trustProxy, publicHosts } = deps.config;
  const host = requestHost(c, trustProxy);
  if (publicHosts.length > 0 && !isListedHost(host, publicHosts)) {
    return `https://${publicHosts[0]}`;
  }
  return `${overTls(c, trustProxy) ? "https" : "http"}://${host}`;
}

/** Builds the portal links router (mounted beside the organizations router). */
export function portalLinksRouter(deps: AppDeps) {
  const { db } = deps;
  const app = newRouter();
  app.use("/:id/portal-links", requireAdmin(deps));

  app.openapi(
    createRoute({
      method: "post",
      path: "/{id}/portal-links",
      tags: ["Organizations"],
      operationId: "createPortalLink",
      summary: "Mint a single-use link that opens the dashboard for this organization",
      description: "The link works once, for `expiresIn` seconds (default 600); the session it " +
        "opens acts for this organization only and lasts `sessionExpiresIn` seconds (default " +
        "3600). No API key is involved: revoking the organization's keys does not end it.",
      security: [{ adminToken: [] }],
      request: {
        params: IdParam,
        body: {
          required: false,
          content: {
            "application/json": {
              schema: z.strictObject({
                expiresIn: z.number().int().min(10).max(3_600).optional()
                  .openapi({ description: "Seconds the link stays usable", example: 600 }),
                sessionExpiresIn: z.number().int().min(60).max(43_200).optional()
                  .openapi({ description: "Seconds the session lasts", example: 3_600 }),
              }),
            },
          },
        },
      },
      responses: {
        201: jsonResponse(PortalLinkSchema, "The link, shown only here"),
        ...errorResponses(400, 401, 404, 413, 422),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json") ?? {};
      const org = id === PLATFORM_ORGANIZATION_ID
        ? undefined
        : await db.selectFrom("organizations").select("id").where("id", "=", id)
          .executeTakeFirst();
      if (!org) throw notFound("Organization");
      const sessionMs = (body.sessionExpiresIn ?? PORTAL_SESSION_LIFETIME_MS / 1000) * 1000;
      const { token, expiresAt } = await createPortalLink(db, id, {
        linkMs: (body.expiresIn ?? PORTAL_LINK_LIFETIME_MS / 1000) * 1000,
        sessionMs,
      });
      const url = `${portalOrigin(c, deps)}${PORTAL_PATH}?token=${token}`;
      return c.json({ url, expiresAt, sessionExpiresIn: sessionMs / 1000 }, 201);
    },
  );

  return app;
}
