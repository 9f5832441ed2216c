/** A contact's writes, each recording its event in the same transaction. */
import type { Transaction } from "kysely";
import type { Contact, Database } from "../db/schema.ts";
import { jsonb } from "../db/mod.ts";
import { changedFields, MAX_CONTACT_FIELDS, mergeFields } from "../domain/contacts.ts";
import { type RecordedEvent, recordEvent } from "./events.ts";

/** What a change of a contact's fields did. */
export type ContactUpdate =
  | { kind: "missing" }
  | { kind: "too_many_fields"; max: number }
  | { kind: "unchanged"; contact: Contact }
  | { kind: "updated"; contact: Contact; payloads: RecordedEvent["payloads"]; eventId: string };

/**
 * Merges `changes` into a contact (null removes a field) under a row lock, and records
 * `contact.updated` with the fields that really changed; no change records no event.
 */
export async function updateContact(
  tx: Transaction<Database>,
  organizationId: string,
  id: string,
  changes: Record<string, unknown>,
): Promise<ContactUpdate> {
  const before = await tx.selectFrom("contacts").selectAll()
    .where("id", "=", id).where("organization_id", "=", organizationId)
    .forUpdate().executeTakeFirst();
  if (!before) return { kind: "missing" };
  const changed = changedFields(before.fields, changes);
  if (Object.keys(changed).length === 0) return { kind: "unchanged", contact: before };
  const merged = mergeFields(before.fields, changed);
  if (Object.keys(merged).length > MAX_CONTACT_FIELDS) {
    return { kind: "too_many_fields", max: MAX_CONTACT_FIELDS };
  }
  const contact = await tx.updateTable("contacts")
    .set({ fields: jsonb(merged), updated_at: Date.now() })
    .where("id", "=", id).returningAll().executeTakeFirstOrThrow();
  const recorded = await recordEvent(tx, {
    organizationId,
    type: "contact.updated",
    object: "contact",
    objectId: id,
    objectCreatedAt: before.created_at,
    data: changed,
  });
  return { kind: "updated", contact, payloads: recorded.payloads, eventId: recorded.id };
}
