/**
 * `/v1/operational-webhooks`: the platform's own endpoints (admin token), told when a customer's
 * webhook is deactivated or reactivated and when a payload fails. They are the webhooks of the
 * reserved platform organization (src/domain/operational_events.ts): created, changed, signed,
 * delivered and deactivated like any webhook.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { type AppDeps, useCaseDeps } from "./deps.ts";
import { ApiError } from "./errors.ts";
import { newRouter } from "./router.ts";
import { requireAdmin } from "./auth.ts";
import { errorResponses, IdParam, jsonBody, jsonResponse, pageOf } from "./schemas.ts";
import { decodeCursor, toPage } from "./pagination.ts";
import { EventTypesSchema } from "./webhook_fields.ts";
import {
  checkWebhookUrl,
  findWebhook,
  presentWebhook,
  WebhookListQuery,
  WebhookSchema,
} from "./webhooks.ts";
import { MAX_URL_LENGTH } from "../domain/url_policy.ts";
import {
  matchesOperationalEvent,
  OPERATIONAL_EVENT_TYPES,
  PLATFORM_ORGANIZATION_ID,
} from "../domain/operational_events.ts";
import { jsonb } from "../db/mod.ts";
import { requestWebhookChange } from "../usecases/webhook_changes.ts";
import { createWebhook, listWebhooksPage } from "../usecases/webhooks.ts";
import { MAX_REPLAY } from "../usecases/replay.ts";
import {
  replayRoute,
  rotateSecretRoute,
  stateChangeRoute,
  testSendRoute,
  type WebhookActions,
} from "./webhook_action_routes.ts";

const TAGS = ["Operational webhooks"];
const SECURITY = [{ adminToken: [] }];
const PLATFORM = PLATFORM_ORGANIZATION_ID;

const OperationalEventTypes = EventTypesSchema.superRefine((patterns, ctx) => {
  patterns.forEach((pattern, i) => {
    if (!matchesOperationalEvent(pattern)) {
      ctx.addIssue({
        code: "custom",
        path: [i],
        message: `matches none of ${OPERATIONAL_EVENT_TYPES.join(", ")}`,
      });
    }
  });
}).openapi({
  description: `Among ${OPERATIONAL_EVENT_TYPES.join(", ")}: exact names, \`prefix.*\` or \`*\``,
  example: ["webhook.deactivated", "payload.failed"],
});
const UrlSchema = z.string().max(MAX_URL_LENGTH).openapi({ example: "https://example.com/herald" });
const NameSchema = z.string().trim().min(1).max(200);

const CreatedSchema = WebhookSchema.extend({
  signingSecret: z.string().openapi({
    description: "Standard Webhooks secret (`whsec_…`); shown only here and on rotation.",
  }),
}).openapi("CreatedOperationalWebhook");

/** Builds the operational webhooks router. */
export function operationalWebhooksRouter(deps: AppDeps) {
  const { db, config } = deps;
  const useCases = useCaseDeps(deps);
  const app = newRouter();
  app.use("*", requireAdmin(deps));
  const find = (id: string) => findWebhook(db, PLATFORM, id);

  app.openapi(
    createRoute({
      method: "post",
      path: "/",
      tags: TAGS,
      operationId: "createOperationalWebhook",
      summary: "Create an operational webhook",
      description: `Receives ${OPERATIONAL_EVENT_TYPES.join(", ")} about every organization's ` +
        "webhooks, signed like any payload. Its own failures are never told.",
      security: SECURITY,
      request: jsonBody(z.strictObject({
        url: UrlSchema,
        name: NameSchema.optional(),
        eventTypes: OperationalEventTypes.optional(),
      })),
      responses: {
        201: jsonResponse(CreatedSchema, "The operational webhook, with its signing secret"),
        ...errorResponses(400, 401, 409, 413, 422),
      },
    }),
    async (c) => {
      const body = c.req.valid("json");
      await checkWebhookUrl(deps, body.url);
      // Operational webhooks take no custom headers or verify token: the platform owns both ends.
      const created = await createWebhook(db, PLATFORM, {
        url: body.url,
        name: body.name,
        eventTypes: body.eventTypes,
      }, config.maxWebhooksPerOrganization);
      if (created.kind === "limit_reached") {
        throw new ApiError(
          409,
          "limit_reached",
          `The platform has at most ${created.limit} operational webhooks (MAX_WEBHOOKS_PER_ORGANIZATION)`,
        );
      }
      const { webhook } = created;
      return c.json({ ...presentWebhook(webhook), signingSecret: webhook.signing_secret }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/",
      tags: TAGS,
      operationId: "listOperationalWebhooks",
      summary: "List operational webhooks, newest first",
      security: SECURITY,
      request: { query: WebhookListQuery },
      responses: {
        200: jsonResponse(pageOf(WebhookSchema), "A page of operational webhooks"),
        ...errorResponses(401, 422),
      },
    }),
    async (c) => {
      const { limit, cursor, status } = c.req.valid("query");
      const after = decodeCursor(cursor);
      const rows = await listWebhooksPage(db, PLATFORM, { limit, after, status });
      return c.json(toPage(rows, limit, (w) => presentWebhook(w)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/{id}",
      tags: TAGS,
      operationId: "getOperationalWebhook",
      summary: "Read an operational webhook",
      security: SECURITY,
      request: { params: IdParam },
      responses: {
        200: jsonResponse(WebhookSchema, "The operational webhook"),
        ...errorResponses(401, 404),
      },
    }),
    async (c) => c.json(presentWebhook(await find(c.req.valid("param").id)), 200),
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/{id}",
      tags: TAGS,
      operationId: "updateOperationalWebhook",
      summary: "Change an operational webhook's URL, name or event types",
      security: SECURITY,
      request: {
        params: IdParam,
        ...jsonBody(z.strictObject({
          url: UrlSchema.optional(),
          name: NameSchema.optional(),
          eventTypes: OperationalEventTypes.optional(),
        })),
      },
      responses: {
        200: jsonResponse(WebhookSchema, "The operational webhook"),
        ...errorResponses(400, 401, 404, 413, 422),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      await find(id);
      if (body.url !== undefined) await checkWebhookUrl(deps, body.url);
      const webhook = await db.updateTable("webhooks")
        .set({
          ...(body.url !== undefined && { url: body.url }),
          ...(body.name !== undefined && { name: body.name }),
          ...(body.eventTypes !== undefined && { event_types: jsonb(body.eventTypes) }),
          updated_at: Date.now(),
        })
        .where("id", "=", id).where("organization_id", "=", PLATFORM)
        .returningAll().executeTakeFirstOrThrow();
      return c.json(presentWebhook(webhook), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/{id}",
      tags: TAGS,
      operationId: "deleteOperationalWebhook",
      summary: "Delete an operational webhook; its waiting payloads end cancelled",
      security: SECURITY,
      request: { params: IdParam },
      responses: {
        204: { description: "Deleted" },
        202: { description: "Accepted; the deletion has not been applied yet" },
        ...errorResponses(401, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await find(id);
      const applied = await requestWebhookChange(useCases, id, { kind: "delete" });
      return c.body(null, applied ? 204 : 202);
    },
  );

  const on: WebhookActions = {
    app,
    deps,
    useCases,
    security: SECURITY,
    noun: "operational webhook",
    organizationOf: () => PLATFORM,
  };
  stateChangeRoute(on, "activate", {
    tags: TAGS,
    operationId: "activateOperationalWebhook",
    summary: "Reactivate an operational webhook (applied by its lifecycle workflow)",
  });
  stateChangeRoute(on, "deactivate", {
    tags: TAGS,
    operationId: "deactivateOperationalWebhook",
    summary: "Deactivate an operational webhook (reason manual)",
  });
  rotateSecretRoute(on, { tags: TAGS, operationId: "rotateOperationalWebhookSecret" });
  testSendRoute(
    on,
    {
      tags: TAGS,
      operationId: "testOperationalWebhook",
      description: "A deactivated operational webhook receives nothing: 409 `webhook_inactive`.",
    },
    jsonResponse(z.object({ id: z.string() }), "Accepted: the test payload"),
  );
  replayRoute(
    on,
    {
      tags: TAGS,
      operationId: "replayOperationalWebhookEvents",
      summary: "Send the operational events an operational webhook missed since a time",
      description: "As `POST /v1/webhooks/{id}/replay`: oldest first, at most " +
        `${MAX_REPLAY.toLocaleString("en")} per call, a repeat finds nothing.`,
    },
    jsonResponse(z.object({ count: z.number().int() }), "How many payloads were created"),
  );

  return app;
}
