/** `/v1/event-types`: the event types of an organization, with how often and when last seen. */
import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "kysely";
import type { AppDeps } from "./deps.ts";
import { newRouter } from "./router.ts";
import { requireApiKey } from "./auth.ts";
import { errorResponses, jsonResponse, Millis, pageOf, PageQuery } from "./schemas.ts";
import { decodeNameCursor, toNamePage } from "./pagination.ts";
import { HERALD_EVENT_TYPES } from "../domain/event_types.ts";

const EventTypeSchema = z.object({
  name: z.string().openapi({ example: "contact.created" }),
  count: z.number().int().openapi({ description: "How many events of this type were recorded" }),
  lastSeenAt: Millis.nullable().openapi({
    description: "When the last one was recorded; null if never",
  }),
}).openapi("EventType");

/** Builds the event types router. */
export function eventTypesRouter(deps: AppDeps) {
  const { db } = deps;
  const app = newRouter();
  app.use("*", requireApiKey(deps));

  app.openapi(
    createRoute({
      method: "get",
      path: "/",
      tags: ["Events"],
      operationId: "listEventTypes",
      summary: "List the organization's event types, by name",
      description: "Every type the organization has recorded, and the ones Herald emits " +
        `(${HERALD_EVENT_TYPES.join(", ")}) even before they happen. Test sends are not counted.`,
      security: [{ apiKey: [] }],
      request: { query: PageQuery },
      responses: {
        200: jsonResponse(pageOf(EventTypeSchema), "A page of event types"),
        ...errorResponses(401, 422),
      },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const after = decodeNameCursor(cursor);
      // The counts are kept per organization as events are recorded: no scan of the events.
      const { rows } = await sql<{ name: string; count: number; last_seen_at: number | null }>`
        select name, sum(count)::bigint as count, max(last_seen_at) as last_seen_at from (
          select name, count, last_seen_at from event_type_counts
          where organization_id = ${c.get("organizationId")}
          union all
          select name collate "C", 0, null
          from unnest(array[${sql.join(HERALD_EVENT_TYPES)}]::text[]) as name
        ) as types
        ${after === undefined ? sql`` : sql`where name > ${after}`}
        group by name order by name limit ${limit + 1}`.execute(db);
      return c.json(
        toNamePage(rows, limit, (r) => ({
          name: r.name,
          count: r.count,
          lastSeenAt: r.last_seen_at,
        })),
        200,
      );
    },
  );

  return app;
}
