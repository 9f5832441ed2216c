/** Opaque, time-ordered identifiers: a prefix, 48 bits of milliseconds and 80 random bits. */
const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";

function encodeTime(ms: number): string {
  let out = "";
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

function encodeRandom(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => CROCKFORD[b % 32]).join("");
}

/** The prefixes of Herald's ids, one per kind of object. */
export type IdPrefix = "org" | "key" | "wh" | "ct" | "evt" | "pl" | "att" | "req";

/** A new id such as `wh_01jz3k5q8r7t6y5x4w3v2u1s0p`. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${encodeTime(Date.now())}${encodeRandom(16)}`;
}

/** The id of the deactivation request a payload's failed run makes: recorded once per run. */
export function deactivationRequestId(payloadId: string, run: number): string {
  return `req_${payloadId}_${run}`;
}

/** The payload whose failed run made a deactivation request, or null (manual, downgrade). */
export function payloadOfRequest(requestId: string): string | null {
  return /^req_(pl_[A-Za-z0-9]+)_\d+$/.exec(requestId)?.[1] ?? null;
}
