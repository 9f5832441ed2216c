/** `/v1/payloads`: one payload, its body as last sent, and every attempt. */
import { createRoute, z } from "@hono/zod-openapi";
import { type AppDeps, useCaseDeps } from "./deps.ts";
import { ApiError, notFound } from "./errors.ts";
import { RESENDABLE_STATUSES } from "../domain/types.ts";
import { resendPayload } from "../usecases/resend.ts";
import { deliveryWorkflowId } from "../temporal/names.ts";
import { newRouter } from "./router.ts";
import { requireApiKey } from "./auth.ts";
import { errorResponses, IdParam, jsonResponse, MASKED, Millis } from "./schemas.ts";
import type { Payload } from "../db/schema.ts";
import { CANCEL_REASONS, PAYLOAD_STATUSES } from "../domain/types.ts";

/** A payload's status. */
export const PayloadStatusSchema = z.enum(PAYLOAD_STATUSES).openapi("PayloadStatus");

/** Why a payload ended `cancelled`. */
const CancelReasonSchema = z.enum(CANCEL_REASONS).openapi("CancelReason");

/** A payload in a list. */
export const PayloadSummarySchema = z.object({
  id: z.string(),
  webhookId: z.string(),
  eventId: z.string(),
  event: z.string(),
  status: PayloadStatusSchema,
  // A union rather than .nullable(), which would make the named enum itself nullable.
  cancelReason: z.union([CancelReasonSchema, z.null()])
    .openapi({ description: "Why the payload ended `cancelled`; null otherwise" }),
  run: z.number().int(),
  attempts: z.number().int(),
  firstSentAt: Millis.nullable(),
  finishedAt: Millis.nullable(),
  createdAt: Millis,
  updatedAt: Millis,
}).openapi("PayloadSummary");

const AttemptSchema = z.object({
  run: z.number().int(),
  number: z.number().int(),
  startedAt: Millis,
  durationMs: z.number().int(),
  responseStatus: z.number().int().nullable(),
  error: z.string().nullable(),
  responseBody: z.string().nullable().openapi({ description: "The first 1 KiB of the answer" }),
  finishedAt: Millis.nullable().openapi({
    description: "When its outcome was recorded; null while the POST is in flight",
  }),
}).openapi("Attempt");

const PayloadSchema = PayloadSummarySchema.extend({
  workflowId: z.string(),
  body: z.record(z.string(), z.unknown()).nullable()
    .openapi({
      description: "The body as last sent (its verify token masked); null before the first attempt",
    }),
  attemptLog: z.array(AttemptSchema),
}).openapi("Payload");

/** The body as sent, with its verify token masked. */
function maskVerifyToken(body: { items?: { infoWebhook?: { verifyToken?: string | null } } }) {
  const info = body.items?.infoWebhook;
  if (info && typeof info.verifyToken === "string") info.verifyToken = MASKED;
  return body;
}

/** A payload row (with its event type) as the API shows it in lists. */
export function presentPayloadSummary(p: Payload & { event: string }) {
  return {
    id: p.id,
    webhookId: p.webhook_id,
    eventId: p.event_id,
    event: p.event,
    status: p.status,
    cancelReason: p.cancel_reason,
    run: p.run,
    attempts: p.attempt_count,
    firstSentAt: p.first_sent_at,
    finishedAt: p.finished_at,
    createdAt: p.created_at,
    updatedAt: p.updated_at,
  };
}

/** Builds the payloads router. */
export function payloadsRouter(deps: AppDeps) {
  const { db } = deps;
  const app = newRouter();
  app.use("*", requireApiKey(deps));

  app.openapi(
    createRoute({
      method: "get",
      path: "/{id}",
      tags: ["Payloads"],
      operationId: "getPayload",
      summary: "Read a payload with every attempt",
      security: [{ apiKey: [] }],
      request: { params: IdParam },
      responses: { 200: jsonResponse(PayloadSchema, "The payload"), ...errorResponses(401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const payload = await db.selectFrom("payloads")
        .innerJoin("events", "events.id", "payloads.event_id")
        .selectAll("payloads").select("events.type as event")
        .where("payloads.id", "=", id)
        .where("payloads.organization_id", "=", c.get("organizationId"))
        .executeTakeFirst();
      if (!payload) throw notFound("Payload");
      const attempts = await db.selectFrom("attempts").selectAll()
        .where("payload_id", "=", id).orderBy("run").orderBy("number").orderBy("started_at")
        .execute();
      return c.json({
        ...presentPayloadSummary(payload),
        workflowId: deliveryWorkflowId(payload.id),
        body: payload.last_body ? maskVerifyToken(JSON.parse(payload.last_body)) : null,
        attemptLog: attempts.map((a) => ({
          run: a.run,
          number: a.number,
          startedAt: a.started_at,
          durationMs: a.duration_ms,
          responseStatus: a.response_status,
          error: a.error,
          responseBody: a.response_body,
          finishedAt: a.finished_at,
        })),
      }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/{id}/resend",
      tags: ["Payloads"],
      operationId: "resendPayload",
      summary: "Deliver a failed or cancelled payload again (attempts numbered from 1)",
      security: [{ apiKey: [] }],
      request: { params: IdParam },
      responses: {
        202: jsonResponse(
          z.object({ id: z.string(), run: z.number().int(), status: PayloadStatusSchema }),
          "Accepted: a new run of the payload",
        ),
        ...errorResponses(401, 404, 409),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const payload = await db.selectFrom("payloads")
        .innerJoin("webhooks", "webhooks.id", "payloads.webhook_id")
        .select(["payloads.status", "webhooks.status as webhook_status", "webhooks.deleted_at"])
        .where("payloads.id", "=", id)
        .where("payloads.organization_id", "=", c.get("organizationId"))
        .executeTakeFirst();
      if (!payload) throw notFound("Payload");
      if (!(RESENDABLE_STATUSES as readonly string[]).includes(payload.status)) {
        throw new ApiError(
          409,
          "payload_not_final",
          `Only failed or cancelled payloads can be resent; this one is ${payload.status}`,
        );
      }
      if (payload.deleted_at !== null || payload.webhook_status !== "active") {
        throw new ApiError(409, "webhook_inactive", "Activate the webhook before resending");
      }
      const started = await resendPayload(useCaseDeps(deps), id);
      if (started === "delivery_running") {
        throw new ApiError(
          409,
          "delivery_running",
          "The previous delivery of this payload is still winding down; try again in a few seconds",
        );
      }
      if (started === "not_final") {
        throw new ApiError(409, "payload_not_final", "The payload changed meanwhile");
      }
      return c.json({ id, run: started.run, status: "pending" as const }, 202);
    },
  );

  return app;
}
