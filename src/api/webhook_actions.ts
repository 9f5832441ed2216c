/**
 * `/v1/webhooks/{id}/…`: activate, deactivate, reveal and rotate the secret, send a test, recover
 * failed payloads, replay missed events.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { type AppDeps, useCaseDeps } from "./deps.ts";
import { ApiError } from "./errors.ts";
import { newRouter } from "./router.ts";
import { requireApiKey } from "./auth.ts";
import { errorResponses, IdParam, jsonBody, jsonResponse, Millis } from "./schemas.ts";
import { changeAnswer, findWebhook, requireBusinessPlan, WebhookSchema } from "./webhooks.ts";
import { recoverPayloads } from "../usecases/resend.ts";
import { MAX_REPLAY, replayMissedEvents } from "../usecases/replay.ts";
import { formatRetention } from "../domain/retention.ts";
import { sendTestEvent } from "../usecases/events.ts";
import { TEST_EVENT } from "../domain/event_types.ts";
import { requestWebhookChange } from "../usecases/webhook_changes.ts";
import { rotateSigningSecret } from "../usecases/secrets.ts";

/** Answers 422 for a replay's `since` older than RETENTION: older events are not kept. */
export function assertWithinRetention(retentionMs: number, since: number): void {
  if (retentionMs > 0 && since < Date.now() - retentionMs) {
    const problem = `must lie within RETENTION (${formatRetention(retentionMs)}): ` +
      "older events are not kept";
    throw new ApiError(422, "validation_failed", `Invalid request: body.since: ${problem}`, [
      { path: "body.since", message: problem },
    ]);
  }
}

/** A test send's answer: 202 with the payload, or 409 while the webhook is deactivated. */
export function testAnswer(c: Context, sent: Awaited<ReturnType<typeof sendTestEvent>>) {
  if (sent.kind === "inactive") {
    throw new ApiError(409, "webhook_inactive", "Activate the webhook before sending a test");
  }
  return c.json({ id: sent.payload.payloadId }, 202);
}

/** Builds the router of a webhook's actions (mounted beside the webhooks router). */
export function webhookActionsRouter(deps: AppDeps) {
  const { db } = deps;
  const useCases = useCaseDeps(deps);
  const app = newRouter();
  app.use("*", requireApiKey(deps));

  const stateResponses = {
    200: jsonResponse(WebhookSchema, "The webhook in its new state"),
    202: jsonResponse(WebhookSchema, "Accepted; the change has not been applied yet"),
  };

  app.openapi(
    createRoute({
      method: "post",
      path: "/{id}/activate",
      tags: ["Webhooks"],
      operationId: "activateWebhook",
      summary: "Reactivate a webhook (applied by its lifecycle workflow)",
      security: [{ apiKey: [] }],
      request: { params: IdParam },
      responses: { ...stateResponses, ...errorResponses(401, 403, 404) },
    }),
    async (c) => {
      const organizationId = c.get("organizationId");
      const { id } = c.req.valid("param");
      await findWebhook(db, organizationId, id);
      await requireBusinessPlan(db, organizationId, "Reactivation");
      const applied = await requestWebhookChange(useCases, id, { kind: "reactivate" });
      const { body, status } = await changeAnswer(db, id, applied);
      return c.json(body, status);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/{id}/deactivate",
      tags: ["Webhooks"],
      operationId: "deactivateWebhook",
      summary: "Deactivate a webhook (reason manual)",
      security: [{ apiKey: [] }],
      request: { params: IdParam },
      responses: { ...stateResponses, ...errorResponses(401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await findWebhook(db, c.get("organizationId"), id);
      const applied = await requestWebhookChange(useCases, id, {
        kind: "deactivate",
        reason: "manual",
      });
      const { body, status } = await changeAnswer(db, id, applied);
      return c.json(body, status);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/{id}/secret",
      tags: ["Webhooks"],
      operationId: "getWebhookSecret",
      summary: "Reveal the current signing secret",
      security: [{ apiKey: [] }],
      request: { params: IdParam },
      responses: {
        200: jsonResponse(z.object({ signingSecret: z.string() }), "The current secret"),
        ...errorResponses(401, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const webhook = await findWebhook(db, c.get("organizationId"), id);
      return c.json({ signingSecret: webhook.signing_secret }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/{id}/rotate-secret",
      tags: ["Webhooks"],
      operationId: "rotateWebhookSecret",
      summary: "Issue a new signing secret; the old one also signs for 24 hours",
      security: [{ apiKey: [] }],
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
      await findWebhook(db, c.get("organizationId"), id);
      return c.json(await rotateSigningSecret(db, id), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/{id}/test",
      tags: ["Webhooks"],
      operationId: "testWebhook",
      summary: `Send one ${TEST_EVENT} payload through the normal delivery path`,
      description: "Signed and attempted like any payload, whatever the webhook's event types; " +
        "when every attempt fails the payload ends failed and the webhook stays active. " +
        "A deactivated webhook receives nothing: 409 `webhook_inactive`.",
      security: [{ apiKey: [] }],
      request: { params: IdParam },
      responses: {
        202: jsonResponse(
          z.object({ id: z.string().openapi({ example: "pl_01jz3k5q8r7t6y5x4w3v2u1s0p" }) })
            .openapi("TestSend"),
          "Accepted: the test payload, to follow with GET /v1/payloads/{id}",
        ),
        ...errorResponses(401, 403, 404, 409),
      },
    }),
    async (c) => {
      const organizationId = c.get("organizationId");
      const { id } = c.req.valid("param");
      const webhook = await findWebhook(db, organizationId, id);
      await requireBusinessPlan(db, organizationId, "Sending a test");
      return testAnswer(c, await sendTestEvent(useCases, webhook));
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/{id}/recover",
      tags: ["Payloads"],
      operationId: "recoverWebhookPayloads",
      summary: "Resend every failed or cancelled payload created since a time",
      security: [{ apiKey: [] }],
      request: {
        params: IdParam,
        ...jsonBody(z.strictObject({ since: Millis.min(0) })),
      },
      responses: {
        202: jsonResponse(z.object({ count: z.number().int() }), "How many payloads were resent"),
        ...errorResponses(400, 401, 404, 409, 422),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { since } = c.req.valid("json");
      const webhook = await findWebhook(db, c.get("organizationId"), id);
      if (webhook.status !== "active") {
        throw new ApiError(409, "webhook_inactive", "Activate the webhook before recovering");
      }
      return c.json({ count: await recoverPayloads(useCases, id, since) }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/{id}/replay",
      tags: ["Payloads"],
      operationId: "replayWebhookEvents",
      summary: "Send the events a webhook never got since a time (while it was deactivated, say)",
      description: "One new payload for every retained event of the organization recorded since " +
        "`since` and after the webhook's creation, of a type it subscribes to, that it has no " +
        `payload of yet; oldest first, at most ${MAX_REPLAY.toLocaleString("en")} per call. ` +
        `A \`count\` of ${MAX_REPLAY.toLocaleString("en")} may leave more: call again with the ` +
        "same `since` until it answers less. A repeat finds nothing new. `since` must lie " +
        "within RETENTION (422).",
      security: [{ apiKey: [] }],
      request: {
        params: IdParam,
        ...jsonBody(z.strictObject({ since: Millis.min(0) })),
      },
      responses: {
        202: jsonResponse(
          z.object({ count: z.number().int() }).openapi("Replay"),
          "How many payloads were created and started",
        ),
        ...errorResponses(400, 401, 404, 409, 413, 422),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { since } = c.req.valid("json");
      await findWebhook(db, c.get("organizationId"), id);
      assertWithinRetention(deps.config.retentionMs, since);
      const count = await replayMissedEvents(useCases, id, since);
      if (count === undefined) {
        throw new ApiError(409, "webhook_inactive", "Activate the webhook before replaying");
      }
      return c.json({ count }, 202);
    },
  );

  return app;
}
