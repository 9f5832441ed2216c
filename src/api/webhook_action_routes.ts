/**
 * The actions both kinds of webhook have, an organization's (`/v1/webhooks`, API key) and the
 * platform's operational ones (`/v1/operational-webhooks`, admin token): a change of state, a new
 * signing secret, a test send, a replay. One handler each; the two routers differ only in whose
 * webhooks they act on and in the words of the OpenAPI document.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppDeps, AppEnv } from "./deps.ts";
import type { UseCaseDeps } from "../usecases/deps.ts";
import { ApiError } from "./errors.ts";
import type { newRouter } from "./router.ts";
import { errorResponses, IdParam, jsonBody, jsonResponse, Millis } from "./schemas.ts";
import { changeAnswer, findWebhook, requireBusinessPlan, WebhookSchema } from "./webhooks.ts";
import { formatRetention } from "../domain/retention.ts";
import { TEST_EVENT } from "../domain/event_types.ts";
import { requestWebhookChange } from "../usecases/webhook_changes.ts";
import { rotateSigningSecret } from "../usecases/secrets.ts";
import { sendTestEvent } from "../usecases/events.ts";
import { replayMissedEvents } from "../usecases/replay.ts";

/** A router of webhook actions: where the routes go and whose webhooks they act on. */
export interface WebhookActions {
  app: ReturnType<typeof newRouter>;
  deps: AppDeps;
  useCases: UseCaseDeps;
  security: Record<string, string[]>[];
  /** What the answers call the webhook: "webhook", "operational webhook". */
  noun: string;
  /** The organization whose webhooks the request may act on. */
  organizationOf(c: Context<AppEnv>): string;
}

/** How a route is listed in the OpenAPI document. */
export interface RouteNames {
  tags: string[];
  operationId: string;
}

/** How a route is listed and described in the OpenAPI document. */
export interface RouteWords extends RouteNames {
  summary: string;
  description?: string;
}

/**
 * The webhook a request names, in the organization it may act on, or 404; then, where `plan` names
 * the action, 403 `plan_required` unless that organization is on the business plan.
 */
async function actedOn(on: WebhookActions, c: Context<AppEnv>, id: string, plan?: string) {
  const organizationId = on.organizationOf(c);
  const webhook = await findWebhook(on.deps.db, organizationId, id);
  if (plan) await requireBusinessPlan(on.deps.db, organizationId, plan);
  return webhook;
}

/** The error responses of a route that finds the webhook, with 403 where it checks the plan. */
function findErrors(plan: string | undefined, ...more: number[]) {
  return errorResponses(401, ...(plan ? [403] : []), 404, ...more);
}

/** Answers 422 for a replay's `since` older than RETENTION: older events are not kept. */
function assertWithinRetention(retentionMs: number, since: number): void {
  if (retentionMs > 0 && since < Date.now() - retentionMs) {
    const problem = `must lie within RETENTION (${formatRetention(retentionMs)}): ` +
      "older events are not kept";
    throw new ApiError(422, "validation_failed", `Invalid request: body.since: ${problem}`, [
      { path: "body.since", message: problem },
    ]);
  }
}

/**
 * `POST /{id}/activate` (a reactivation) or `POST /{id}/deactivate` (reason manual), applied by
 * the webhook's lifecycle workflow; `plan` names a change that needs the business plan.
 */
export function stateChangeRoute(
  on: WebhookActions,
  action: "activate" | "deactivate",
  words: RouteWords,
  plan?: string,
): void {
  on.app.openapi(
    createRoute({
      method: "post",
      path: `/{id}/${action}`,
      ...words,
      security: on.security,
      request: { params: IdParam },
      responses: {
        200: jsonResponse(WebhookSchema, `The ${on.noun} in its new state`),
        202: jsonResponse(WebhookSchema, "Accepted; the change has not been applied yet"),
        ...findErrors(plan),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await actedOn(on, c, id, plan);
      const applied = await requestWebhookChange(
        on.useCases,
        id,
        action === "activate" ? { kind: "reactivate" } : { kind: "deactivate", reason: "manual" },
      );
      const { body, status } = await changeAnswer(on.deps.db, id, applied);
      return c.json(body, status);
    },
  );
}

/** `POST /{id}/rotate-secret`: a new signing secret, the old one kept for 24 hours. */
export function rotateSecretRoute(on: WebhookActions, names: RouteNames): void {
  on.app.openapi(
    createRoute({
      method: "post",
      path: "/{id}/rotate-secret",
      ...names,
      summary: "Issue a new signing secret; the old one also signs for 24 hours",
      security: on.security,
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
      await actedOn(on, c, id);
      return c.json(await rotateSigningSecret(on.deps.db, id), 200);
    },
  );
}

/**
 * `POST /{id}/test`: one test payload through the normal delivery path, 409 while the webhook is
 * deactivated; `plan` names the action when it needs the business plan.
 */
export function testSendRoute(
  on: WebhookActions,
  words: RouteNames & { description: string },
  accepted: ReturnType<typeof jsonResponse<z.ZodObject<{ id: z.ZodString }>>>,
  plan?: string,
): void {
  on.app.openapi(
    createRoute({
      method: "post",
      path: "/{id}/test",
      tags: words.tags,
      operationId: words.operationId,
      summary: `Send one ${TEST_EVENT} payload through the normal delivery path`,
      description: words.description,
      security: on.security,
      request: { params: IdParam },
      responses: { 202: accepted, ...findErrors(plan, 409) },
    }),
    async (c) => {
      const webhook = await actedOn(on, c, c.req.valid("param").id, plan);
      const sent = await sendTestEvent(on.useCases, webhook);
      if (sent.kind === "inactive") {
        throw new ApiError(409, "webhook_inactive", "Activate the webhook before sending a test");
      }
      return c.json({ id: sent.payload.payloadId }, 202);
    },
  );
}

/** `POST /{id}/replay`: the events the webhook missed since a time, within RETENTION. */
export function replayRoute(
  on: WebhookActions,
  words: RouteWords,
  created: ReturnType<typeof jsonResponse<z.ZodObject<{ count: z.ZodNumber }>>>,
): void {
  on.app.openapi(
    createRoute({
      method: "post",
      path: "/{id}/replay",
      ...words,
      security: on.security,
      request: { params: IdParam, ...jsonBody(z.strictObject({ since: Millis.min(0) })) },
      responses: { 202: created, ...errorResponses(400, 401, 404, 409, 413, 422) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { since } = c.req.valid("json");
      await actedOn(on, c, id);
      assertWithinRetention(on.deps.config.retentionMs, since);
      const count = await replayMissedEvents(on.useCases, id, since);
      if (count === undefined) {
        throw new ApiError(409, "webhook_inactive", "Activate the webhook before replaying");
      }
      return c.json({ count }, 202);
    },
  );
}
