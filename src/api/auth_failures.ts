/**
 * Failed authentication slowed down per client: past `perMinute` failures (a bucket that refills
 * at that rate), a client's unknown credentials answer 429 until the bucket refills. A valid key or
 * the admin token is never refused here, so one client's guesses cannot lock out the others that
 * share its address (everyone behind one proxy, say). Kept per process, like the rate limit.
 */
import type { Context } from "hono";
import ipaddr from "ipaddr.js";
import { ApiError } from "./errors.ts";

/**
 * Who a request counts against: its socket address, or with `trustProxy` the right-most address
 * of X-Forwarded-For (the one the proxy in front added; the entries left of it are the client's to
 * write). IPv6 addresses count per /64, the block one subscriber usually holds; calls made inside
 * the process without an address count as "internal".
 */
export function clientAddress(c: Context, trustProxy: boolean): string {
  const socket = (c.env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr
    ?.hostname;
  const forwarded = trustProxy
    ? c.req.header("x-forwarded-for")?.split(",").at(-1)?.trim()
    : undefined;
  return clientKey(forwarded) ?? clientKey(socket) ?? socket ?? "internal";
}

/** An address as the throttle counts it, or undefined when the text is not an address. */
function clientKey(text: string | undefined): string | undefined {
  if (!text || !ipaddr.isValid(text)) return undefined;
  const address = ipaddr.process(text);
  if (address.kind() === "ipv4") return address.toString();
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(":")}::/64`;
}

/** Counts failed authentications per client. */
export class AuthFailures {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(readonly perMinute: number) {}

  #bucket(address: string, now: number) {
    const bucket = this.#buckets.get(address) ?? { tokens: this.perMinute, at: now };
    bucket.tokens = Math.min(
      this.perMinute,
      bucket.tokens + ((now - bucket.at) / 60_000) * this.perMinute,
    );
    bucket.at = now;
    return bucket;
  }

  /**
   * Counts one failure of the client, or answers 429 when it has none left. Synchronous, so that
   * concurrent failures each take their own token and none gets past the limit.
   */
  recordFailure(address: string): void {
    if (this.perMinute <= 0) return;
    const bucket = this.#bucket(address, performance.now());
    this.#buckets.set(address, bucket);
    if (bucket.tokens < 1) {
      const retryAfter = Math.ceil(((1 - bucket.tokens) * 60) / this.perMinute);
      throw new ApiError(
        429,
        "too_many_failures",
        `Too many failed authentications from this address: wait ${retryAfter} s`,
        [],
        { "retry-after": String(retryAfter) },
      );
    }
    bucket.tokens -= 1;
    if (this.#buckets.size > 100_000) {
      // Clients whose buckets have refilled since their last failure are as if never seen.
      const now = performance.now();
      for (const key of this.#buckets.keys()) {
        if (this.#bucket(key, now).tokens >= this.perMinute) this.#buckets.delete(key);
      }
    }
  }
}
