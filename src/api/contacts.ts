/** `/v1/contacts`: each write emits `contact.created`, `contact.updated` or `contact.deleted`. */
import { createRoute, z } from "@hono/zod-openapi";
import { type AppDeps, useCaseDeps } from "./deps.ts";
import { ApiError, notFound } from "./errors.ts";
import { newRouter } from "./router.ts";
import { requireApiKey } from "./auth.ts";
import { errorResponses, IdParam, jsonBody, jsonResponse, Millis } from "./schemas.ts";
import type { Contact, Event } from "../db/schema.ts";
import { IdempotencyHeader, idempotencyOf, writeOnce } from "./idempotency.ts";
import { jsonb } from "../db/mod.ts";
import { newId } from "../domain/ids.ts";
import { recordEvent, startSoon } from "../usecases/events.ts";
import { updateContact } from "../usecases/contacts.ts";
import { MAX_CONTACT_FIELDS } from "../domain/contacts.ts";

const FieldName = z.string().min(1).max(100).regex(
  /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/,
  "field names use letters, digits, _, . and - only",
);
const FieldValue = z.union([
  z.string().max(10_000),
  z.number().openapi({ format: "double" }),
  z.boolean(),
]).openapi("FieldValue", { description: "A string, number or boolean" });
const Fields = z.record(FieldName, FieldValue)
  .refine(
    (f) => Object.keys(f).length <= MAX_CONTACT_FIELDS,
    `at most ${MAX_CONTACT_FIELDS} fields`,
  )
  .openapi({
    description: `At most ${MAX_CONTACT_FIELDS} fields`,
    example: { email: "ada@example.com", plan: "gold" },
  });
const FieldChanges = z.record(FieldName, z.union([FieldValue, z.null()]))
  .refine(
    (f) => Object.keys(f).length <= MAX_CONTACT_FIELDS,
    `at most ${MAX_CONTACT_FIELDS} fields`,
  )
  .openapi({
    description: `Fields to set (at most ${MAX_CONTACT_FIELDS}); null removes a field`,
    example: { plan: "platinum" },
  });

const ContactSchema = z.object({
  id: z.string(),
  fields: z.record(z.string(), FieldValue),
  createdAt: Millis,
  updatedAt: Millis,
}).openapi("Contact");

type FieldValues = Record<string, string | number | boolean>;

function present(c: Pick<Contact, "id" | "fields" | "created_at" | "updated_at">) {
  // Stored fields were validated by the same schema on the way in.
  const fields = c.fields as FieldValues;
  return { id: c.id, fields, createdAt: c.created_at, updatedAt: c.updated_at };
}

/** 422: the merged contact would have more fields than a contact may. */
function tooManyFields(max: number): ApiError {
  const message = `a contact has at most ${max} fields`;
  return new ApiError(422, "validation_failed", `Invalid request: body.fields: ${message}`, [
    { path: "body.fields", message },
  ]);
}

/** The answer a keyed creation gave the first time, rebuilt from its event. */
function createdFrom(event: Event) {
  return present({
    id: event.object_id!,
    fields: event.data,
    created_at: event.object_created_at,
    updated_at: event.object_created_at,
  });
}

/** Builds the contacts router. */
export function contactsRouter(deps: AppDeps) {
  const { db } = deps;
  const useCases = useCaseDeps(deps);
  const app = newRouter();
  app.use("*", requireApiKey(deps));

  async function findContact(organizationId: string, id: string) {
    const contact = await db.selectFrom("contacts").selectAll()
      .where("id", "=", id).where("organization_id", "=", organizationId).executeTakeFirst();
    if (!contact) throw notFound("Contact");
    return contact;
  }

  app.openapi(
    createRoute({
      method: "post",
      path: "/",
      tags: ["Contacts"],
      operationId: "createContact",
      summary: "Create a contact (emits contact.created)",
      security: [{ apiKey: [] }],
      request: { headers: IdempotencyHeader, ...jsonBody(z.strictObject({ fields: Fields })) },
      responses: {
        201: jsonResponse(ContactSchema, "The contact"),
        ...errorResponses(400, 401, 413, 422),
      },
    }),
    async (c) => {
      const organizationId = c.get("organizationId");
      const { fields } = c.req.valid("json");
      const idempotency = await idempotencyOf(
        c.req.valid("header")["idempotency-key"],
        "POST",
        "/v1/contacts",
        fields,
      );
      const now = Date.now();
      const contact = { id: newId("ct"), fields, created_at: now, updated_at: now };
      const result = await writeOnce(
        db,
        organizationId,
        idempotency,
        async (tx) => {
          await tx.insertInto("contacts").values({
            ...contact,
            organization_id: organizationId,
            fields: jsonb(fields),
          }).execute();
          const recorded = await recordEvent(tx, {
            organizationId,
            type: "contact.created",
            object: "contact",
            objectId: contact.id,
            objectCreatedAt: now,
            data: fields,
          });
          return { ...recorded, eventId: recorded.id };
        },
      );
      if ("previous" in result) {
        const first = await db.selectFrom("events").selectAll()
          .where("id", "=", result.previous.eventId!).executeTakeFirstOrThrow();
        return c.json(createdFrom(first), 201);
      }
      await startSoon(useCases, result.written.payloads);
      return c.json(present(contact), 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/{id}",
      tags: ["Contacts"],
      operationId: "getContact",
      summary: "Read a contact",
      security: [{ apiKey: [] }],
      request: { params: IdParam },
      responses: { 200: jsonResponse(ContactSchema, "The contact"), ...errorResponses(401, 404) },
    }),
    async (c) => {
      return c.json(
        present(await findContact(c.get("organizationId"), c.req.valid("param").id)),
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/{id}",
      tags: ["Contacts"],
      operationId: "updateContact",
      summary: "Merge fields into a contact (emits contact.updated with the changed fields only)",
      security: [{ apiKey: [] }],
      request: {
        params: IdParam,
        headers: IdempotencyHeader,
        ...jsonBody(z.strictObject({ fields: FieldChanges })),
      },
      responses: {
        200: jsonResponse(ContactSchema, "The contact"),
        ...errorResponses(400, 401, 404, 413, 422),
      },
    }),
    async (c) => {
      const organizationId = c.get("organizationId");
      const { id } = c.req.valid("param");
      const { fields } = c.req.valid("json");
      const idempotency = await idempotencyOf(
        c.req.valid("header")["idempotency-key"],
        "PATCH",
        `/v1/contacts/${id}`,
        fields,
      );
      const outcome = await writeOnce(
        db,
        organizationId,
        idempotency,
        async (tx) => {
          const update = await updateContact(tx, organizationId, id, fields);
          if (update.kind === "missing") throw notFound("Contact");
          if (update.kind === "too_many_fields") throw tooManyFields(update.max);
          // No change, no event; the key is still recorded, so a repeat changes nothing either.
          if (update.kind === "unchanged") {
            return { contact: update.contact, payloads: [], eventId: null };
          }
          return update;
        },
      );
      if ("previous" in outcome) {
        return c.json(present(await findContact(organizationId, id)), 200);
      }
      await startSoon(useCases, outcome.written.payloads);
      return c.json(present(outcome.written.contact), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/{id}",
      tags: ["Contacts"],
      operationId: "deleteContact",
      summary: "Delete a contact (emits contact.deleted)",
      security: [{ apiKey: [] }],
      request: { params: IdParam, headers: IdempotencyHeader },
      responses: { 204: { description: "Deleted" }, ...errorResponses(401, 404) },
    }),
    async (c) => {
      const organizationId = c.get("organizationId");
      const { id } = c.req.valid("param");
      const idempotency = await idempotencyOf(
        c.req.valid("header")["idempotency-key"],
        "DELETE",
        `/v1/contacts/${id}`,
        null,
      );
      const outcome = await writeOnce(
        db,
        organizationId,
        idempotency,
        async (tx) => {
          const contact = await tx.deleteFrom("contacts")
            .where("id", "=", id).where("organization_id", "=", organizationId)
            .returningAll().executeTakeFirst();
          if (!contact) throw notFound("Contact");
          const recorded = await recordEvent(tx, {
            organizationId,
            type: "contact.deleted",
            object: "contact",
            objectId: id,
            objectCreatedAt: contact.created_at,
            data: contact.fields,
          });
          return { ...recorded, eventId: recorded.id };
        },
      );
      if ("written" in outcome) {
        await startSoon(useCases, outcome.written.payloads);
      }
      return c.body(null, 204);
    },
  );

  return app;
}
