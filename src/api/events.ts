/** `/v1/events`: publish any event to every active webhook of the organization subscribed to it. */
import { createRoute, z } from "@hono/zod-openapi";
import { type AppDeps, useCaseDeps } from "./deps.ts";
import { newRouter } from "./router.ts";
import { requireApiKey } from "./auth.ts";
import { errorResponses, jsonBody, jsonResponse } from "./schemas.ts";
import { recordEvent, startSoon } from "../usecases/events.ts";
import { IdempotencyHeader, idempotencyOf, writeOnce } from "./idempotency.ts";
import {
  EVENT_NAME,
  MAX_EVENT_NAME_LENGTH,
  reservedEventProblem,
  TEST_EVENT,
} from "../domain/event_types.ts";
import { ApiError } from "./errors.ts";

/** The deepest nesting of `data` accepted. */
export const MAX_DATA_DEPTH = 10;

/** How deeply a value nests objects and arrays, walked with a stack (wide values are fine). */
function depth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, level] = stack.pop()!;
    if (current === null || typeof current !== "object") continue;
    deepest = Math.max(deepest, level + 1);
    for (const child of Object.values(current)) stack.push([child, level + 1]);
  }
  return deepest;
}

const PublishedEventName = z.string().max(MAX_EVENT_NAME_LENGTH)
  .regex(EVENT_NAME, "event names are dotted lowercase words such as invoice.paid")
  .refine((name) => name !== TEST_EVENT, `${TEST_EVENT} is sent only by test sends`)
  .openapi({ example: "invoice.paid" });

const PublishSchema = z.strictObject({
  event: PublishedEventName,
  object: z.string().max(50).regex(/^[a-z0-9_]+$/, "lowercase letters, digits and _ only")
    .openapi({ example: "invoice" }),
  objectId: z.string().min(1).max(200).optional(),
  // Any JSON object: the body was parsed from JSON, so every value in it is JSON already.
  data: z.record(z.string().max(200), z.unknown())
    .refine((d) => depth(d) <= MAX_DATA_DEPTH, `nested at most ${MAX_DATA_DEPTH} levels deep`)
    .openapi({
      description: `Any JSON object, nested at most ${MAX_DATA_DEPTH} levels deep`,
      example: { amount: 4200, currency: "eur" },
    }),
});

const PublishedSchema = z.object({
  id: z.string(),
  payloads: z.array(z.object({ id: z.string(), webhookId: z.string() })),
}).openapi("PublishedEvent");

/** Builds the events router. */
export function eventsRouter(deps: AppDeps) {
  const { db } = deps;
  const useCases = useCaseDeps(deps);
  const app = newRouter();
  app.use("*", requireApiKey(deps));

  async function answerOf(eventId: string) {
    const payloads = await db.selectFrom("payloads").select(["id", "webhook_id"])
      .where("event_id", "=", eventId).orderBy("created_at").orderBy("id").execute();
    return { id: eventId, payloads: payloads.map((p) => ({ id: p.id, webhookId: p.webhook_id })) };
  }

  app.openapi(
    createRoute({
      method: "post",
      path: "/",
      tags: ["Events"],
      operationId: "publishEvent",
      summary: "Publish an event",
      description:
        "Creates one payload per active webhook subscribed to the event's type. The same `Idempotency-Key` within 24 h " +
        "returns the first answer and creates nothing.",
      security: [{ apiKey: [] }],
      request: {
        headers: IdempotencyHeader,
        ...jsonBody(PublishSchema),
      },
      responses: {
        202: jsonResponse(PublishedSchema, "Accepted: the payloads to deliver"),
        ...errorResponses(400, 401, 409, 413, 422),
      },
    }),
    async (c) => {
      const organizationId = c.get("organizationId");
      const body = c.req.valid("json");
      const reserved = reservedEventProblem(body.event);
      if (reserved) {
        throw new ApiError(422, "reserved_event_name", `Invalid request: body.event: ${reserved}`, [
          { path: "body.event", message: reserved },
        ]);
      }
      const idempotency = await idempotencyOf(
        c.req.valid("header")["idempotency-key"],
        "POST",
        "/v1/events",
        body,
      );
      const result = await writeOnce(
        db,
        organizationId,
        idempotency,
        async (tx) => {
          const recorded = await recordEvent(tx, {
            organizationId,
            type: body.event,
            object: body.object,
            objectId: body.objectId ?? null,
            data: body.data as Record<string, unknown>,
          });
          return { ...recorded, eventId: recorded.id };
        },
      );
      // A repeat of the key, or the loser of a race with it, answers with the first event.
      if ("previous" in result) return c.json(await answerOf(result.previous.eventId!), 202);
      const recorded = result.written;
      await startSoon(useCases, recorded.payloads);
      return c.json({
        id: recorded.id,
        payloads: recorded.payloads.map((p) => ({ id: p.payloadId, webhookId: p.webhookId })),
      }, 202);
    },
  );

  return app;
}
