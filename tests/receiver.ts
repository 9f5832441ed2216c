/** HTTPS webhook receivers on loopback that record every request and answer as told. */
import { testCertificates } from "./tls.ts";

/** One request a receiver got. */
export interface Received {
  at: number;
  headers: Record<string, string>;
  rawBody: string;
  body: Record<string, unknown>;
}

/** How a receiver answers the n-th request (1-based). */
export type Behaviour = (n: number, req: Received) => Response | Promise<Response>;

/** A running receiver. */
export interface Receiver {
  url: string;
  received: Received[];
  /** Changes how the receiver answers from now on. */
  answer(behaviour: Behaviour): void;
  close(): Promise<void>;
}

/** Answers 200 to everything. */
export const always200: Behaviour = () => new Response("ok", { status: 200 });

/** Starts an HTTPS receiver with the test CA's certificate, on 127.0.0.1 unless told. */
export async function startReceiver(
  behaviour: Behaviour = always200,
  where: { hostname?: string; port?: number } = {},
): Promise<Receiver> {
  const hostname = where.hostname ?? "127.0.0.1";
  const { cert, key } = await testCertificates();
  const received: Received[] = [];
  let current = behaviour;
  const server = Deno.serve(
    { hostname, port: where.port ?? 0, cert, key, onListen: () => {} },
    async (req) => {
      // The time it arrived, before its body is read: a busy test process reads it later.
      const at = Date.now();
      const rawBody = await req.text();
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(rawBody);
      } catch {
        // Recorded as an empty object; tests compare rawBody when they need it.
      }
      const entry = { at, headers: Object.fromEntries(req.headers), rawBody, body };
      received.push(entry);
      return await current(received.length, entry);
    },
  );
  return {
    url: `https://${hostname}:${server.addr.port}/hooks`,
    received,
    answer: (b) => (current = b),
    close: () => server.shutdown(),
  };
}

/**
 * A rate-limited receiver, as an API gateway is: a token bucket of `capacity` refilled at `rate`
 * per second; past it, 429 with `Retry-After: 1`. `drawn()` counts the 429s it answered.
 */
export function tokenBucket(rate: number, capacity = rate): Behaviour & { drawn(): number } {
  let tokens = capacity;
  let refilled = performance.now();
  let limited = 0;
  const behaviour = () => {
    const now = performance.now();
    tokens = Math.min(capacity, tokens + ((now - refilled) / 1000) * rate);
    refilled = now;
    if (tokens >= 1) {
      tokens -= 1;
      return new Response("ok", { status: 200 });
    }
    limited++;
    return new Response("slow down", { status: 429, headers: { "retry-after": "1" } });
  };
  return Object.assign(behaviour, { drawn: () => limited });
}

/** The most requests (by the time each was received, or sent) within one calendar second. */
export function peakPerSecond(received: Pick<Received, "at">[]): number {
  const perSecond = new Map<number, number>();
  for (const r of received) {
    const second = Math.floor(r.at / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  return Math.max(0, ...perSecond.values());
}
