/** Secrets Herald hands out: API keys (kept only as hashes), admin tokens and signing secrets. */
import { encodeBase64, encodeBase64Url } from "./base64.ts";

function randomBytes(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

/** A new organization API key: `hk_` and 32 random bytes. */
export function newApiKey(): string {
  return `hk_${encodeBase64Url(randomBytes(32))}`;
}

/** A new admin token: `hadm_` and 32 random bytes. */
export function newAdminToken(): string {
  return `hadm_${encodeBase64Url(randomBytes(32))}`;
}

/** A new Standard Webhooks signing secret: `whsec_` and 24 random bytes in base64. */
export function newSigningSecret(): string {
  return `whsec_${encodeBase64(randomBytes(24))}`;
}

/** The SHA-256 of a token in hex: what the database keeps instead of the token. */
export async function hashToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compares two strings in time that depends only on their lengths. */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** How long a signing secret keeps signing after a rotation retired it. */
export const SECRET_OVERLAP_MS = 24 * 3_600_000;

/** A new dashboard session id: 32 random bytes, the cookie's value (the database keeps a hash). */
export function newSessionId(): string {
  return encodeBase64Url(randomBytes(32));
}
