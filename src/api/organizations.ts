/** `/v1/organizations`: managed with the admin token; an API key may read its own. */
import { PLANS, WEBHOOK_PLAN } from "../domain/types.ts";
import { createRoute, z } from "@hono/zod-openapi";
import { type AppDeps, useCaseDeps } from "./deps.ts";
import { notFound } from "./errors.ts";
import { newRouter } from "./router.ts";
import { requireAdmin, requireAdminOrApiKey } from "./auth.ts";
import { errorResponses, ID_PATTERN, IdParam, jsonBody, jsonResponse, Millis } from "./schemas.ts";
import type { Kysely } from "kysely";
import type { Database, Organization } from "../db/schema.ts";
import { newId } from "../domain/ids.ts";
import { hashToken, newApiKey } from "../domain/secrets.ts";
import { changeOrganization } from "../usecases/organizations.ts";
import { PLATFORM_ORGANIZATION_ID } from "../domain/operational_events.ts";

const PlanSchema = z.enum(PLANS).openapi({ example: WEBHOOK_PLAN });

const OrganizationSchema = z.object({
  id: z.string(),
  name: z.string(),
  plan: PlanSchema,
  createdAt: Millis,
  updatedAt: Millis,
}).openapi("Organization");

const ApiKeySchema = z.object({
  id: z.string(),
  apiKey: z.string().openapi({ description: "Shown only in this answer." }),
  createdAt: Millis,
}).openapi("ApiKey");

const CreatedOrganizationSchema = OrganizationSchema.extend({
  apiKey: z.string().openapi({ description: "Shown only in this answer." }),
  apiKeyId: z.string(),
}).openapi("CreatedOrganization");

const ADMIN_OR_KEY: Array<Record<string, string[]>> = [{ adminToken: [] }, { apiKey: [] }];
const NameSchema = z.string().trim().min(1).max(200);

function present(org: Organization) {
  return {
    id: org.id,
    name: org.name,
    plan: org.plan,
    createdAt: org.created_at,
    updatedAt: org.updated_at,
  };
}

/** Issues a new API key; only its hash is stored, so the answer is the one time it is shown. */
async function issueKey(db: Kysely<Database>, organizationId: string) {
  const apiKey = newApiKey();
  const id = newId("key");
  const createdAt = Date.now();
  await db.insertInto("api_keys").values({
    id,
    organization_id: organizationId,
    key_hash: await hashToken(apiKey),
    prefix: apiKey.slice(0, 8),
    created_at: createdAt,
    revoked_at: null,
  }).execute();
  return { id, apiKey, createdAt };
}

/** Builds the organizations router. */
export function organizationsRouter(deps: AppDeps) {
  const { db } = deps;
  const app = newRouter();

  app.use("/", requireAdmin(deps));
  app.use("/:id/api-keys/*", requireAdmin(deps));
  app.on(["PATCH"], "/:id", requireAdmin(deps));
  app.on(["GET"], "/:id", requireAdminOrApiKey(deps));
  // The platform's own organization holds the operational webhooks: no route here reaches it.
  for (const path of ["/:id", "/:id/*"]) {
    app.use(path, async (c, next) => {
      if (c.req.param("id") === PLATFORM_ORGANIZATION_ID) throw notFound("Organization");
      await next();
    });
  }

  app.openapi(
    createRoute({
      method: "post",
      path: "/",
      tags: ["Organizations"],
      operationId: "createOrganization",
      summary: "Create an organization and its first API key",
      security: [{ adminToken: [] }],
      request: jsonBody(z.strictObject({ name: NameSchema, plan: PlanSchema })),
      responses: {
        201: jsonResponse(CreatedOrganizationSchema, "The organization, with its API key"),
        ...errorResponses(400, 401, 413, 422),
      },
    }),
    async (c) => {
      const { name, plan } = c.req.valid("json");
      const now = Date.now();
      const org = { id: newId("org"), name, plan, created_at: now, updated_at: now };
      const key = await db.transaction().execute(async (tx) => {
        await tx.insertInto("organizations").values(org).execute();
        return await issueKey(tx, org.id);
      });
      return c.json({ ...present(org), apiKey: key.apiKey, apiKeyId: key.id }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/{id}",
      tags: ["Organizations"],
      operationId: "getOrganization",
      summary: "Read an organization",
      security: ADMIN_OR_KEY,
      request: { params: IdParam },
      responses: {
        200: jsonResponse(OrganizationSchema, "The organization"),
        ...errorResponses(401, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      if (!c.get("isAdmin") && c.get("organizationId") !== id) throw notFound("Organization");
      const org = await db.selectFrom("organizations").selectAll().where("id", "=", id)
        .executeTakeFirst();
      if (!org) throw notFound("Organization");
      return c.json(present(org), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/{id}",
      tags: ["Organizations"],
      operationId: "updateOrganization",
      summary: "Change an organization's plan or name",
      description: "Moving off the business plan deactivates every webhook with `plan_downgraded`.",
      security: [{ adminToken: [] }],
      request: {
        params: IdParam,
        ...jsonBody(z.strictObject({ plan: PlanSchema.optional(), name: NameSchema.optional() })),
      },
      responses: {
        200: jsonResponse(OrganizationSchema, "The organization"),
        ...errorResponses(400, 401, 404, 413, 422),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const change = c.req.valid("json");
      // Off the business plan, every active webhook is deactivated, however often this runs.
      const after = await changeOrganization(useCaseDeps(deps), id, change);
      if (!after) throw notFound("Organization");
      return c.json(present(after), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/{id}/api-keys",
      tags: ["Organizations"],
      operationId: "createApiKey",
      summary: "Issue another API key",
      security: [{ adminToken: [] }],
      request: { params: IdParam },
      responses: { 201: jsonResponse(ApiKeySchema, "The new key"), ...errorResponses(401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const org = await db.selectFrom("organizations").select("id").where("id", "=", id)
        .executeTakeFirst();
      if (!org) throw notFound("Organization");
      return c.json(await issueKey(db, id), 201);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/{id}/api-keys/{keyId}",
      tags: ["Organizations"],
      operationId: "revokeApiKey",
      summary: "Revoke an API key",
      security: [{ adminToken: [] }],
      request: {
        params: IdParam.extend({
          keyId: z.string().min(1).max(64).regex(ID_PATTERN, "not an id")
            .openapi({ param: { name: "keyId", in: "path" } }),
        }),
      },
      responses: { 204: { description: "Revoked" }, ...errorResponses(401, 404) },
    }),
    async (c) => {
      const { id, keyId } = c.req.valid("param");
      const revoked = await db.updateTable("api_keys").set({ revoked_at: Date.now() })
        .where("id", "=", keyId).where("organization_id", "=", id)
        .where("revoked_at", "is", null).executeTakeFirst();
      if (Number(revoked.numUpdatedRows) === 0) throw notFound("API key");
      return c.body(null, 204);
    },
  );

  return app;
}
