/**
 * `/v1/operational-webhooks`: the platform's own endpoints (admin token), told when a customer's
 * webhook is deactivated or reactivated and when a payload fails. They are the webhooks of the
 * reserved platform organization (src/domain/operational_events.ts): created, changed, signed,
 * delivered and deactivated like any webhook.
 */
import { WEBHOOK_STATUSES } from "../domain/types.ts";
import { createRoute, z } from "@hono/zod-openapi";
import { type AppDeps, useCaseDeps } from "./deps.ts";
import { ApiError } from "./errors.ts";
import { newRouter } from "./router.ts";
import { requireAdmin } from "./auth.ts";
import {
  errorResponses,
  IdParam,
  jsonBody,
  jsonResponse,
  Millis,
  pageOf,
  PageQuery,
} from "./schemas.ts";
import { decodeCursor, olderThan, toPage } from "./pagination.ts";
import { EventTypesSchema } from "./webhook_fields.ts";
import {
  changeAnswer,
  checkWebhookUrl,
  findWebhook,
  presentWebhook,
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
import { createWebhook } from "../usecases/webhooks.ts";
import { rotateSigningSecret } from "../usecases/secrets.ts";
import { sendTestEvent } from "../usecases/events.ts";
import { MAX_REPLAY, replayMissedEvents } from "../usecases/replay.ts";
import { assertWithinRetention, testAnswer } from "./webhook_actions.ts";

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
  const stateResponses = {
    200: jsonResponse(WebhookSchema, "The operational webhook in its new state"),
    202: jsonResponse(WebhookSchema, "Accepted; the change has not been applied yet"),
  };

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
      request: {
        query: PageQuery.extend({ status: z.enum(WEBHOOK_STATUSES).optional() }),
      },
      responses: {
        200: jsonResponse(pageOf(WebhookSchema), "A page of operational webhooks"),
        ...errorResponses(401, 422),
      },
    }),
    async (c) => {
      const { limit, cursor, status } = c.req.valid("query");
      const after = decodeCursor(cursor);
      let query = db.selectFrom("webhooks").selectAll()
        .where("organization_id", "=", PLATFORM).where("deleted_at", "is", null);
      if (status) query = query.where("status", "=", status);
      if (after) query = query.where(olderThan(after, { createdAt: "created_at", id: "id" }));
      const rows = await query.orderBy("created_at", "desc").orderBy("id", "desc")
        .limit(limit + 1).execute();
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

  for (const action of ["activate", "deactivate"] as const) {
    const activate = action === "activate";
    app.openapi(
      createRoute({
        method: "post",
        path: `/{id}/${action}`,
        tags: TAGS,
        operationId: activate ? "activateOperationalWebhook" : "deactivateOperationalWebhook",
        summary: activate
          ? "Reactivate an operational webhook (applied by its lifecycle workflow)"
          : "Deactivate an operational webhook (reason manual)",
        security: SECURITY,
        request: { params: IdParam },
        responses: { ...stateResponses, ...errorResponses(401, 404) },
      }),
      async (c) => {
        const { id } = c.req.valid("param");
        await find(id);
        const applied = await requestWebhookChange(
          useCases,
          id,
          activate ? { kind: "reactivate" } : { kind: "deactivate", reason: "manual" },
        );
        const { body, status } = await changeAnswer(db, id, applied);
        return c.json(body, status);
      },
    );
  }

  app.openapi(
    createRoute({
      method: "post",
      path: "/{id}/rotate-secret",
      tags: TAGS,
      operationId: "rotateOperationalWebhookSecret",
      summary: "Issue a new signing secret; the old one also signs for 24 hours",
      security: SECURITY,
      request: { params: IdParam },
      responses: {
        200: jsonResponse(
          z.object({ signingSecret: z.string(), previousSecretExpiresAt: Millis }),
          "The new secret, shown only here",
        ),
        ...errorResponses(401, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await find(id);
      return c.json(await rotateSigningSecret(db, id), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/{id}/test",
      tags: TAGS,
      operationId: "testOperationalWebhook",
      summary: "Send one webhook.test payload through the normal delivery path",
      description: "A deactivated operational webhook receives nothing: 409 `webhook_inactive`.",
      security: SECURITY,
      request: { params: IdParam },
      responses: {
        202: jsonResponse(z.object({ id: z.string() }), "Accepted: the test payload"),
        ...errorResponses(401, 404, 409),
      },
    }),
    async (c) => {
      const webhook = await find(c.req.valid("param").id);
      return testAnswer(c, await sendTestEvent(useCases, webhook));
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/{id}/replay",
      tags: TAGS,
      operationId: "replayOperationalWebhookEvents",
      summary: "Send the operational events an operational webhook missed since a time",
      description: "As `POST /v1/webhooks/{id}/replay`: oldest first, at most " +
        `${MAX_REPLAY.toLocaleString("en")} per call, a repeat finds nothing.`,
      security: SECURITY,
      request: { params: IdParam, ...jsonBody(z.strictObject({ since: Millis.min(0) })) },
      responses: {
        202: jsonResponse(z.object({ count: z.number().int() }), "How many payloads were created"),
        ...errorResponses(400, 401, 404, 409, 413, 422),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { since } = c.req.valid("json");
      await find(id);
      assertWithinRetention(config.retentionMs, since);
      const count = await replayMissedEvents(useCases, id, since);
      if (count === undefined) {
        throw new ApiError(409, "webhook_inactive", "Activate the webhook before replaying");
      }
      return c.json({ count }, 202);
    },
  );

  return app;
}
