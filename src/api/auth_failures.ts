/**
 * Failed authentication slowed down per client address: past `perMinute` failures (a bucket that
 * refills at that rate), every request from the address answers 429 until the bucket refills.
 * Kept per process, like the rate limit.
 */
import type { Context } from "hono";
import { ApiError } from "./errors.ts";

/** The address a request came from, or "internal" for calls made inside the process. */
export function clientAddress(c: Context): string {
  const info = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return info?.remoteAddr?.hostname ?? "internal";
}

/** Counts failed authentications per address. */
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

  /** Answers 429 while the address has used up its failures. */
  assertAllowed(address: string): void {
    if (this.perMinute <= 0) return;
    const bucket = this.#bucket(address, performance.now());
    if (bucket.tokens >= 1) return;
    const retryAfter = Math.ceil(((1 - bucket.tokens) * 60) / this.perMinute);
    throw new ApiError(
      429,
      "too_many_failures",
      `Too many failed authentications from this address: wait ${retryAfter} s`,
      [],
      { "retry-after": String(retryAfter) },
    );
  }

  /** Counts one failure of the address. */
  record(address: string): void {
    if (this.perMinute <= 0) return;
    const now = performance.now();
    const bucket = this.#bucket(address, now);
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    this.#buckets.set(address, bucket);
    if (this.#buckets.size > 100_000) {
      for (const [key, b] of this.#buckets) {
        if (b.tokens >= this.perMinute) this.#buckets.delete(key);
      }
    }
  }
}
