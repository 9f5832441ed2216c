/**
 * `/v1/webhooks/{id}/…`: activate, deactivate, reveal and rotate the secret, send a test, recover
 * failed payloads, replay missed events.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { type AppDeps, useCaseDeps } from "./deps.ts";
import { ApiError } from "./errors.ts";
import { newRouter } from "./router.ts";
import { requireApiKey } from "./auth.ts";
import { errorResponses, IdParam, jsonBody, jsonResponse, Millis } from "./schemas.ts";
import { findWebhook } from "./webhooks.ts";
import {
  replayRoute,
  rotateSecretRoute,
  stateChangeRoute,
  testSendRoute,
  type WebhookActions,
} from "./webhook_action_routes.ts";
import { recoverPayloads } from "../usecases/resend.ts";
import { MAX_REPLAY } from "../usecases/replay.ts";

/** Builds the router of a webhook's actions (mounted beside the webhooks router). */
export function webhookActionsRouter(deps: AppDeps) {
  const { db } = deps;
  const useCases = useCaseDeps(deps);
  const app = newRouter();
  app.use("*", requireApiKey(deps));

  const security = [{ apiKey: [] }];
  const on: WebhookActions = {
    app,
    deps,
    useCases,
    security,
    noun: "webhook",
    organizationOf: (c) => c.get("organizationId"),
  };
  const tags = ["Webhooks"];

  stateChangeRoute(on, "activate", {
    tags,
    operationId: "activateWebhook",
    summary: "Reactivate a webhook (applied by its lifecycle workflow)",
  }, "Reactivation");
  stateChangeRoute(on, "deactivate", {
    tags,
    operationId: "deactivateWebhook",
    summary: "Deactivate a webhook (reason manual)",
  });

  app.openapi(
    createRoute({
      method: "get",
      path: "/{id}/secret",
      tags,
      operationId: "getWebhookSecret",
      summary: "Reveal the current signing secret",
      security,
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

  rotateSecretRoute(on, { tags, operationId: "rotateWebhookSecret" });
  testSendRoute(
    on,
    {
      tags,
      operationId: "testWebhook",
      description: "Signed and attempted like any payload, whatever the webhook's event types; " +
        "when every attempt fails the payload ends failed and the webhook stays active. " +
        "A deactivated webhook receives nothing: 409 `webhook_inactive`.",
    },
    jsonResponse(
      z.object({ id: z.string().openapi({ example: "pl_01jz3k5q8r7t6y5x4w3v2u1s0p" }) })
        .openapi("TestSend"),
      "Accepted: the test payload, to follow with GET /v1/payloads/{id}",
    ),
    "Sending a test",
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/{id}/recover",
      tags: ["Payloads"],
      operationId: "recoverWebhookPayloads",
      summary: "Resend every failed or cancelled payload created since a time",
      security,
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

  replayRoute(
    on,
    {
      tags: ["Payloads"],
      operationId: "replayWebhookEvents",
      summary: "Send the events a webhook never got since a time (while it was deactivated, say)",
      description: "One new payload for every retained event of the organization recorded since " +
        "`since` and after the webhook's creation, of a type it subscribes to, that it has no " +
        `payload of yet; oldest first, at most ${MAX_REPLAY.toLocaleString("en")} per call. ` +
        `A \`count\` of ${MAX_REPLAY.toLocaleString("en")} may leave more: call again with the ` +
        "same `since` until it answers less. A repeat finds nothing new. `since` must lie " +
        "within RETENTION (422).",
    },
    jsonResponse(
      z.object({ count: z.number().int() }).openapi("Replay"),
      "How many payloads were created and started",
    ),
  );

  return app;
}
