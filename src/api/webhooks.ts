/** `/v1/webhooks`: an organization's webhooks, their lifecycle and their payloads. */
import {
  DEACTIVATION_REASONS,
  hasWebhooks,
  WEBHOOK_STATUSES,
  type WebhookState,
} from "../domain/types.ts";
import { createRoute, z } from "@hono/zod-openapi";
import { type AppDeps, useCaseDeps } from "./deps.ts";
import { ApiError, notFound } from "./errors.ts";
import { newRouter } from "./router.ts";
import { requireApiKey } from "./auth.ts";
import {
  errorResponses,
  EventName,
  IdParam,
  jsonBody,
  jsonResponse,
  MASKED,
  Millis,
  pageOf,
  PageQuery,
} from "./schemas.ts";
import { decodeCursor, toPage } from "./pagination.ts";
import { olderThan } from "../db/keyset.ts";
import { PayloadStatusSchema, PayloadSummarySchema, presentPayloadSummary } from "./payloads.ts";
import type { Kysely } from "kysely";
import type { Database, Webhook } from "../db/schema.ts";
import { jsonb } from "../db/mod.ts";
import { checkUrlForm, MAX_URL_LENGTH } from "../domain/url_policy.ts";
import { checkUrlAddresses } from "../net/url_addresses.ts";
import { requestWebhookChange } from "../usecases/webhook_changes.ts";
import { createWebhook, listWebhooksPage } from "../usecases/webhooks.ts";
import {
  EventTypesSchema,
  FlowControlSchema,
  HeadersSchema,
  maskHeaders,
  OrderingSchema,
  RateLimitSchema,
} from "./webhook_fields.ts";
import { ensureFlowRow, type FlowView, flowViews } from "../usecases/flow.ts";

/** A webhook as the API shows it. */
export const WebhookSchema = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  hasVerifyToken: z.boolean(),
  eventTypes: z.array(z.string()).openapi({
    description: "Exact names, `prefix.*` wildcards, or `*` for every event",
    example: ["contact.*", "invoice.paid"],
  }),
  headers: z.record(z.string(), z.string()).openapi({
    description: `Custom request headers: each name with its value masked as \`${MASKED}\``,
    example: { authorization: MASKED },
  }),
  rateLimit: RateLimitSchema,
  ordering: OrderingSchema,
  flowControl: FlowControlSchema,
  status: z.enum(WEBHOOK_STATUSES),
  deactivationReason: z.enum(DEACTIVATION_REASONS).nullable(),
  deactivatedAt: Millis.nullable(),
  createdAt: Millis,
  updatedAt: Millis,
}).openapi("Webhook");

const CreatedWebhookSchema = WebhookSchema.extend({
  signingSecret: z.string().openapi({
    description: "Standard Webhooks secret (`whsec_…`); shown only here and on rotation.",
  }),
}).openapi("CreatedWebhook");

/** The query of a list of webhooks, an organization's or the platform's operational ones. */
export const WebhookListQuery = PageQuery.extend({ status: z.enum(WEBHOOK_STATUSES).optional() });

const UrlSchema = z.string().max(MAX_URL_LENGTH).openapi({ example: "https://example.com/hooks" });
const WebhookName = z.string().trim().min(1).max(200);
const VerifyToken = z.string().min(1).max(500);

/**
 * A webhook as the API shows it: never its verify token, its secrets nor its headers' values;
 * `flow` is how Herald paces it now, where it does.
 */
export function presentWebhook(w: Webhook, flow: FlowView | null = null) {
  return {
    id: w.id,
    name: w.name,
    url: w.url,
    hasVerifyToken: w.verify_token !== null,
    eventTypes: w.event_types,
    headers: maskHeaders(w.headers),
    rateLimit: w.rate_limit,
    ordering: w.ordering,
    flowControl: flow,
    status: w.status,
    deactivationReason: w.deactivation_reason,
    deactivatedAt: w.deactivated_at,
    createdAt: w.created_at,
    updatedAt: w.updated_at,
  };
}

/** Finds an organization's live webhook, or answers 404. */
export async function findWebhook(
  db: Kysely<Database>,
  organizationId: string,
  id: string,
): Promise<Webhook> {
  const webhook = await db.selectFrom("webhooks").selectAll()
    .where("id", "=", id).where("organization_id", "=", organizationId)
    .where("deleted_at", "is", null).executeTakeFirst();
  if (!webhook) throw notFound("Webhook");
  return webhook;
}

/** Answers 422 `invalid_url` unless the URL is one deliveries may reach (form and addresses). */
export async function checkWebhookUrl(deps: AppDeps, url: string): Promise<void> {
  const policy = deps.config.delivery;
  const problem = checkUrlForm(url, policy) ?? await checkUrlAddresses(url, policy, deps.resolve);
  if (problem) {
    throw new ApiError(422, "invalid_url", `Invalid webhook URL: ${problem}`, [
      { path: "body.url", message: problem },
    ]);
  }
}

/** Answers 403 `plan_required` unless the organization is on the business plan. */
export async function requireBusinessPlan(
  db: Kysely<Database>,
  organizationId: string,
  action: string,
): Promise<void> {
  const org = await db.selectFrom("organizations").select("plan")
    .where("id", "=", organizationId).executeTakeFirstOrThrow();
  if (!hasWebhooks(org.plan)) {
    throw new ApiError(
      403,
      "plan_required",
      `${action} needs the business plan; this organization is on ${org.plan}`,
    );
  }
}

/**
 * The answer to a change of a webhook's state: 200 with the webhook as its lifecycle workflow left
 * it, or 202 with it as it is while the change is not applied yet.
 */
export async function changeAnswer(
  db: Kysely<Database>,
  id: string,
  applied: WebhookState | undefined,
): Promise<{ body: ReturnType<typeof presentWebhook>; status: 200 | 202 }> {
  const webhook = await db.selectFrom("webhooks").selectAll().where("id", "=", id)
    .executeTakeFirstOrThrow();
  return { body: presentWebhook(webhook), status: applied ? 200 : 202 };
}

/** Builds the webhooks router. */
export function webhooksRouter(deps: AppDeps) {
  const { db, config } = deps;
  const app = newRouter();
  app.use("*", requireApiKey(deps));

  const checkUrl = (url: string) => checkWebhookUrl(deps, url);
  const find = (organizationId: string, id: string) => findWebhook(db, organizationId, id);

  app.openapi(
    createRoute({
      method: "post",
      path: "/",
      tags: ["Webhooks"],
      operationId: "createWebhook",
      summary: "Create a webhook",
      security: [{ apiKey: [] }],
      request: jsonBody(z.strictObject({
        url: UrlSchema,
        name: WebhookName.optional(),
        verifyToken: VerifyToken.optional(),
        eventTypes: EventTypesSchema.optional(),
        headers: HeadersSchema.optional(),
        rateLimit: RateLimitSchema.optional(),
        ordering: OrderingSchema.optional(),
      })),
      responses: {
        201: jsonResponse(CreatedWebhookSchema, "The webhook, with its signing secret"),
        ...errorResponses(400, 401, 403, 409, 413, 422),
      },
    }),
    async (c) => {
      const organizationId = c.get("organizationId");
      const body = c.req.valid("json");
      await checkUrl(body.url);
      await requireBusinessPlan(db, organizationId, "Webhooks");
      const created = await createWebhook(
        db,
        organizationId,
        body,
        config.maxWebhooksPerOrganization,
      );
      if (created.kind === "limit_reached") {
        throw new ApiError(
          409,
          "limit_reached",
          `An organization has at most ${created.limit} webhooks (MAX_WEBHOOKS_PER_ORGANIZATION)`,
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
      tags: ["Webhooks"],
      operationId: "listWebhooks",
      summary: "List webhooks, newest first",
      security: [{ apiKey: [] }],
      request: { query: WebhookListQuery },
      responses: {
        200: jsonResponse(pageOf(WebhookSchema), "A page of webhooks"),
        ...errorResponses(401, 422),
      },
    }),
    async (c) => {
      const { limit, cursor, status } = c.req.valid("query");
      const after = decodeCursor(cursor);
      const rows = await listWebhooksPage(db, c.get("organizationId"), { limit, after, status });
      const flows = await flowViews(db, rows.map((w) => w.id));
      return c.json(toPage(rows, limit, (w) => presentWebhook(w, flows.get(w.id) ?? null)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/{id}",
      tags: ["Webhooks"],
      operationId: "getWebhook",
      summary: "Read a webhook",
      security: [{ apiKey: [] }],
      request: { params: IdParam },
      responses: { 200: jsonResponse(WebhookSchema, "The webhook"), ...errorResponses(401, 404) },
    }),
    async (c) => {
      const webhook = await find(c.get("organizationId"), c.req.valid("param").id);
      const flows = await flowViews(db, [webhook.id]);
      return c.json(presentWebhook(webhook, flows.get(webhook.id) ?? null), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/{id}",
      tags: ["Webhooks"],
      operationId: "updateWebhook",
      summary:
        "Change a webhook's URL, name, verify token, event types, headers, rate limit or ordering",
      security: [{ apiKey: [] }],
      request: {
        params: IdParam,
        ...jsonBody(z.strictObject({
          url: UrlSchema.optional(),
          name: WebhookName.optional(),
          verifyToken: VerifyToken.nullable().optional(),
          eventTypes: EventTypesSchema.optional(),
          headers: HeadersSchema.optional(),
          rateLimit: RateLimitSchema.optional(),
          ordering: OrderingSchema.optional(),
        })),
      },
      responses: {
        200: jsonResponse(WebhookSchema, "The webhook"),
        ...errorResponses(400, 401, 404, 413, 422),
      },
    }),
    async (c) => {
      const organizationId = c.get("organizationId");
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      await find(organizationId, id);
      if (body.url !== undefined) await checkUrl(body.url);
      const webhook = await db.updateTable("webhooks")
        .set({
          ...(body.url !== undefined && { url: body.url }),
          ...(body.name !== undefined && { name: body.name }),
          ...(body.verifyToken !== undefined && { verify_token: body.verifyToken }),
          ...(body.eventTypes !== undefined && { event_types: jsonb(body.eventTypes) }),
          ...(body.headers !== undefined && { headers: jsonb(body.headers) }),
          ...(body.rateLimit !== undefined && { rate_limit: body.rateLimit }),
          ...(body.ordering !== undefined && { ordering: body.ordering }),
          updated_at: Date.now(),
        })
        .where("id", "=", id).where("organization_id", "=", organizationId)
        .returningAll().executeTakeFirstOrThrow();
      if (webhook.rate_limit !== null) await ensureFlowRow(db, webhook.id);
      const flows = await flowViews(db, [webhook.id]);
      return c.json(presentWebhook(webhook, flows.get(webhook.id) ?? null), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/{id}",
      tags: ["Webhooks"],
      operationId: "deleteWebhook",
      summary: "Delete a webhook; its waiting payloads end cancelled",
      security: [{ apiKey: [] }],
      request: { params: IdParam },
      responses: {
        204: { description: "Deleted" },
        202: { description: "Accepted; the deletion has not been applied yet" },
        ...errorResponses(401, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await find(c.get("organizationId"), id);
      // The request is recorded before it is signalled: it is applied even after a crash.
      const applied = await requestWebhookChange(useCaseDeps(deps), id, { kind: "delete" });
      return c.body(null, applied ? 204 : 202);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/{id}/payloads",
      tags: ["Payloads"],
      operationId: "listWebhookPayloads",
      summary: "List a webhook's payloads, newest first",
      security: [{ apiKey: [] }],
      request: {
        params: IdParam,
        query: PageQuery.extend({
          status: PayloadStatusSchema.optional(),
          event: EventName.optional().openapi({ description: "Only payloads of this event type" }),
        }),
      },
      responses: {
        200: jsonResponse(pageOf(PayloadSummarySchema), "A page of payloads"),
        ...errorResponses(401, 404, 422),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { limit, cursor, status, event } = c.req.valid("query");
      await find(c.get("organizationId"), id);
      const after = decodeCursor(cursor);
      let query = db.selectFrom("payloads")
        .innerJoin("events", "events.id", "payloads.event_id")
        .selectAll("payloads").select("events.type as event")
        .where("payloads.webhook_id", "=", id);
      if (status) query = query.where("payloads.status", "=", status);
      if (event) query = query.where("events.type", "=", event);
      if (after) {
        query = query.where(
          olderThan(after, { createdAt: "payloads.created_at", id: "payloads.id" }),
        );
      }
      const rows = await query.orderBy("payloads.created_at", "desc")
        .orderBy("payloads.id", "desc").limit(limit + 1).execute();
      return c.json(toPage(rows, limit, presentPayloadSummary), 200);
    },
  );

  return app;
}
