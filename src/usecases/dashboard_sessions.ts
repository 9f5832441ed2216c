/**
 * Dashboard sessions: opened with an API key, kept only as a hash, ended by expiry, sign-out or
 * the revocation of the key they were opened with.
 */
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.ts";
import { hashToken, newSessionId } from "../domain/secrets.ts";

/** How long a session lasts after sign-in. */
export const SESSION_LIFETIME_MS = 12 * 3_600_000;

/** A session id as `newSessionId` makes them: anything else is not looked up. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** Who a live session acts for, and the token its forms must carry. */
export interface DashboardSession {
  organizationId: string;
  /** The hash of the API key the session was opened with (rate limits count against it). */
  keyHash: string;
  /** Derived from the session id: a form posted without it did not come from Herald's page. */
  csrfToken: string;
}

/** The CSRF token of a session: a hash of its id that reveals nothing of the id. */
function csrfTokenOf(sessionId: string): Promise<string> {
  return hashToken(`csrf ${sessionId}`);
}

/** Opens a session for a valid API key: its id (the cookie) and expiry, or undefined. */
export async function openSession(
  db: Kysely<Database>,
  apiKey: string,
): Promise<{ id: string; expiresAt: number } | undefined> {
  const key = await db.selectFrom("api_keys").select("id")
    .where("key_hash", "=", await hashToken(apiKey)).where("revoked_at", "is", null)
    .executeTakeFirst();
  if (!key) return undefined;
  const now = Date.now();
  // Expired sessions go when a new one opens, so the table holds live ones only.
  await db.deleteFrom("dashboard_sessions").where("expires_at", "<=", now).execute();
  const id = newSessionId();
  const expiresAt = now + SESSION_LIFETIME_MS;
  await db.insertInto("dashboard_sessions").values({
    id_hash: await hashToken(id),
    api_key_id: key.id,
    created_at: now,
    expires_at: expiresAt,
  }).execute();
  return { id, expiresAt };
}

/** The live session with this id, or undefined (unknown, expired, or its key revoked). */
export async function findSession(
  db: Kysely<Database>,
  id: string,
): Promise<DashboardSession | undefined> {
  if (!SESSION_ID.test(id)) return undefined;
  const row = await db.selectFrom("dashboard_sessions")
    .innerJoin("api_keys", "api_keys.id", "dashboard_sessions.api_key_id")
    .select(["api_keys.organization_id", "api_keys.key_hash"])
    .where("dashboard_sessions.id_hash", "=", await hashToken(id))
    .where("dashboard_sessions.expires_at", ">", Date.now())
    .where("api_keys.revoked_at", "is", null)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    organizationId: row.organization_id,
    keyHash: row.key_hash,
    csrfToken: await csrfTokenOf(id),
  };
}

/** Ends a session (sign-out). */
export async function closeSession(db: Kysely<Database>, id: string): Promise<void> {
  if (!SESSION_ID.test(id)) return;
  await db.deleteFrom("dashboard_sessions").where("id_hash", "=", await hashToken(id)).execute();
}
