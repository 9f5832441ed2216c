/** A contact's fields: how a change merges into them, and how many a contact may have. */

/** A contact's fields, by name. */
export type ContactFields = Record<string, unknown>;

/** The most fields a contact may have. */
export const MAX_CONTACT_FIELDS = 100;

/** The fields that `changes` really changes in `before`, with their new values (null = removed). */
export function changedFields(before: ContactFields, changes: Record<string, unknown>) {
  const changed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(changes)) {
    if (value === null ? name in before : before[name] !== value) changed[name] = value;
  }
  return changed;
}

/** `before` with `changed` applied: a null removes its field. */
export function mergeFields(before: ContactFields, changed: ContactFields): ContactFields {
  const merged: ContactFields = { ...before };
  for (const [name, value] of Object.entries(changed)) {
    if (value === null) delete merged[name];
    else merged[name] = value;
  }
  return merged;
}
