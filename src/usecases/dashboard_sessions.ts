/**
 * Dashboard sessions, kept only as a hash and ended by expiry or sign-out. One is opened with an
 * API key (and ended by the key's revocation), by a portal link (a single-use, short-lived token
 * the platform mints for one organization: no API key is involved), or with the admin token (and
 * ended when the token changes); an admin session opens one organization at a time.
 */
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.ts";
import { hashToken, newSessionId } from "../domain/secrets.ts";

/** How long a session lasts after sign-in. */
export const SESSION_LIFETIME_MS = 12 * 3_600_000;
/** How long a portal link stays usable unless told: ten minutes. */
export const PORTAL_LINK_LIFETIME_MS = 10 * 60_000;
/** How long the session a portal link opens lasts unless told: one hour. */
export const PORTAL_SESSION_LIFETIME_MS = 3_600_000;

/** A session id as `newSessionId` makes them: anything else is not looked up. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** Who a live session acts for, and the token its forms must carry. */
export interface DashboardSession {
  /** How it was opened: with an API key, by a portal link, or with the admin token. */
  kind: "key" | "portal" | "admin";
  /** The organization it acts for; an admin session's is the one it has open, if any. */
  organizationId: string | null;
  /** When it ends (UNIX ms). */
  expiresAt: number;
  /**
   * What rate limits count its requests against: the hash of its API key, or for a session
   * opened otherwise a name derived from the session's hash.
   */
  keyHash: string;
  /** Derived from the session id: a form posted without it did not come from Herald's page. */
  csrfToken: string;
}

/** The CSRF token of a session: a hash of its id that reveals nothing of the id. */
function csrfTokenOf(sessionId: string): Promise<string> {
  return hashToken(`csrf ${sessionId}`);
}

type NewSession = {
  kind?: "key" | "portal" | "admin";
  api_key_id: string | null;
  organization_id?: string | null;
  admin_token_hash?: string | null;
};

/** Inserts a session (expired ones go first, so the table holds live ones only). */
async function insertSession(
  db: Kysely<Database>,
  values: NewSession,
  lifetimeMs: number,
): Promise<{ id: string; expiresAt: number }> {
  const now = Date.now();
  await db.deleteFrom("dashboard_sessions").where("expires_at", "<=", now).execute();
  const id = newSessionId();
  const expiresAt = now + lifetimeMs;
  await db.insertInto("dashboard_sessions").values({
    id_hash: await hashToken(id),
    ...values,
    created_at: now,
    expires_at: expiresAt,
  }).execute();
  return { id, expiresAt };
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
  return await insertSession(db, { api_key_id: key.id }, SESSION_LIFETIME_MS);
}

/** Opens a session for the admin token (the caller has checked it), with no organization open. */
export async function openAdminSession(
  db: Kysely<Database>,
  adminToken: string,
): Promise<{ id: string; expiresAt: number }> {
  return await insertSession(db, {
    kind: "admin",
    api_key_id: null,
    admin_token_hash: await hashToken(adminToken),
  }, SESSION_LIFETIME_MS);
}

/** Makes an admin session act for an organization (null: none); nothing for other sessions. */
export async function openOrganization(
  db: Kysely<Database>,
  id: string,
  organizationId: string | null,
): Promise<void> {
  if (!SESSION_ID.test(id)) return;
  await db.updateTable("dashboard_sessions").set({ organization_id: organizationId })
    .where("id_hash", "=", await hashToken(id)).where("kind", "=", "admin").execute();
}

/**
 * The live session with this id, or undefined: unknown, expired, its key revoked, or opened with
 * an admin token other than `adminToken`.
 */
export async function findSession(
  db: Kysely<Database>,
  id: string,
  adminToken: string,
): Promise<DashboardSession | undefined> {
  if (!SESSION_ID.test(id)) return undefined;
  const idHash = await hashToken(id);
  const row = await db.selectFrom("dashboard_sessions")
    .leftJoin("api_keys", "api_keys.id", "dashboard_sessions.api_key_id")
    .select([
      "dashboard_sessions.kind",
      "dashboard_sessions.expires_at",
      "dashboard_sessions.organization_id as session_organization_id",
      "dashboard_sessions.admin_token_hash",
      "api_keys.organization_id as key_organization_id",
      "api_keys.key_hash",
      "api_keys.revoked_at",
    ])
    .where("dashboard_sessions.id_hash", "=", idHash)
    .where("dashboard_sessions.expires_at", ">", Date.now())
    .executeTakeFirst();
  if (!row) return undefined;
  const base = {
    kind: row.kind,
    expiresAt: Number(row.expires_at),
    csrfToken: await csrfTokenOf(id),
  };
  if (row.kind === "key") {
    if (row.revoked_at !== null || !row.key_organization_id || !row.key_hash) return undefined;
    return { ...base, organizationId: row.key_organization_id, keyHash: row.key_hash };
  }
  if (row.kind === "admin" && row.admin_token_hash !== await hashToken(adminToken)) {
    return undefined;
  }
  if (row.kind === "portal" && !row.session_organization_id) return undefined;
  return {
    ...base,
    organizationId: row.session_organization_id,
    keyHash: `${row.kind}:${idHash}`,
  };
}

/** Ends a session (sign-out). */
export async function closeSession(db: Kysely<Database>, id: string): Promise<void> {
  if (!SESSION_ID.test(id)) return;
  await db.deleteFrom("dashboard_sessions").where("id_hash", "=", await hashToken(id)).execute();
}

/** Mints a portal link's token for an organization: shown once, kept as its hash. */
export async function createPortalLink(
  db: Kysely<Database>,
  organizationId: string,
  lifetimes: { linkMs: number; sessionMs: number },
): Promise<{ token: string; expiresAt: number }> {
  const now = Date.now();
  // Links past their time go when a new one is minted, so the table holds live ones only.
  await db.deleteFrom("portal_links").where("expires_at", "<=", now).execute();
  const token = newSessionId();
  const expiresAt = now + lifetimes.linkMs;
  await db.insertInto("portal_links").values({
    id_hash: await hashToken(token),
    organization_id: organizationId,
    session_ms: lifetimes.sessionMs,
    created_at: now,
    expires_at: expiresAt,
    used_at: null,
  }).execute();
  return { token, expiresAt };
}

/**
 * Opens the session of a portal link, once: the link is used in the same statement that finds it,
 * so two clicks at once open one session. Undefined for a link unknown, used or expired.
 */
export async function openPortalSession(
  db: Kysely<Database>,
  token: string,
): Promise<{ id: string; expiresAt: number } | undefined> {
  if (!SESSION_ID.test(token)) return undefined;
  const idHash = await hashToken(token);
  return await db.transaction().execute(async (tx) => {
    const now = Date.now();
    const link = await tx.updateTable("portal_links").set({ used_at: now })
      .where("id_hash", "=", idHash).where("used_at", "is", null)
      .where("expires_at", ">", now)
      .returning(["organization_id", "session_ms"]).executeTakeFirst();
    if (!link) return undefined;
    return await insertSession(tx, {
      kind: "portal",
      api_key_id: null,
      organization_id: link.organization_id,
    }, Number(link.session_ms));
  });
}
