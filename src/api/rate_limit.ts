/** Per-API-key rate limiting: a token bucket per key, in this process. */
import { ApiError } from "./errors.ts";

/** A limiter of `perSecond` requests per key, with bursts of twice that; 0 turns it off. */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #capacity: number;

  constructor(readonly perSecond: number) {
    this.#capacity = perSecond * 2;
  }

  /** Takes one token for `key`, or answers 429 with Retry-After. */
  take(key: string): void {
    if (this.perSecond <= 0) return;
    const now = performance.now();
    const bucket = this.#buckets.get(key) ?? { tokens: this.#capacity, at: now };
    bucket.tokens = Math.min(
      this.#capacity,
      bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond,
    );
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.#buckets.set(key, bucket);
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
      throw new ApiError(
        429,
        "rate_limited",
        `Too many requests for this API key: at most ${this.perSecond} per second`,
        [],
        { "retry-after": String(retryAfter) },
      );
    }
    bucket.tokens -= 1;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > 100_000) this.#forgetFull(now);
  }

  #forgetFull(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond >= this.#capacity) {
        this.#buckets.delete(key);
      }
    }
  }
}
