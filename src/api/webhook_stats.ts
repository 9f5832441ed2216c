/** `/v1/webhooks/{id}/stats`: how a webhook is doing over the last 24 hours, hour by hour. */
import { createRoute, z } from "@hono/zod-openapi";
import type { AppDeps } from "./deps.ts";
import { newRouter } from "./router.ts";
import { requireApiKey } from "./auth.ts";
import { errorResponses, IdParam, jsonResponse, Millis } from "./schemas.ts";
import { findWebhook } from "./webhooks.ts";
import { webhookStats } from "../usecases/webhook_stats.ts";

const Count = z.number().int();

const HourStatsSchema = z.object({
  hour: Millis.openapi({ description: "The hour's start" }),
  delivered: Count,
  failed: Count,
  cancelled: Count,
  open: Count.openapi({ description: "Payloads still pending or delivering" }),
  attempts: Count,
  succeeded: Count.openapi({ description: "Attempts answered 200" }),
  p50Ms: z.number().int().nullable(),
  p95Ms: z.number().int().nullable(),
}).openapi("HourStats");

const WebhookStatsSchema = z.object({
  since: Millis,
  until: Millis,
  hours: z.array(HourStatsSchema).openapi({
    description: "24 hours, oldest first; payloads by the hour they were created and their " +
      "status now, attempts by the hour they started",
  }),
  attempts: Count,
  succeeded: Count,
  successRate: z.number().nullable().openapi({
    format: "double",
    description: "succeeded / attempts; null without attempts",
    example: 0.98,
  }),
}).openapi("WebhookStats");

/** Builds the statistics router (mounted beside the webhooks router). */
export function webhookStatsRouter(deps: AppDeps) {
  const app = newRouter();
  app.use("*", requireApiKey(deps));

  app.openapi(
    createRoute({
      method: "get",
      path: "/{id}/stats",
      tags: ["Webhooks"],
      operationId: "getWebhookStats",
      summary: "A webhook's deliveries, attempts and latency per hour over the last 24 hours",
      security: [{ apiKey: [] }],
      request: { params: IdParam },
      responses: {
        200: jsonResponse(WebhookStatsSchema, "The last 24 hours"),
        ...errorResponses(401, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await findWebhook(deps.db, c.get("organizationId"), id);
      return c.json(await webhookStats(deps.db, id), 200);
    },
  );

  return app;
}
