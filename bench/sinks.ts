/** HTTPS sinks for the benchmark: answer 200 at once (or 500), and note when each payload arrived. */
import { testCertificates } from "../tests/tls.ts";

/** A running sink. */
export interface Sink {
  url: string;
  /** Arrival time (performance.now() of this process) of each payload's first attempt. */
  firstArrival: Map<string, number>;
  /** Arrival times of every attempt, by payload id. */
  attempts: Map<string, number[]>;
  received: number;
  /** Arrival times (Date.now()) of every request, in order. */
  arrivals: number[];
  /** When (performance.now()) each payload was first answered 200. */
  deliveredAt: Map<string, number>;
  /** How many POSTs of a payload already answered 200 came (and were answered 200 again). */
  deliveredAgain: number;
  /** How many requests were answered 429. */
  limited: number;
  close(): Promise<void>;
}

/**
 * A gateway's answer past its limit: a token bucket of `rate` per second (as much capacity), and
 * 429 with `Retry-After: 1` beyond it.
 */
export function tokenBucket(rate: number): () => number {
  let tokens = rate;
  let refilled = performance.now();
  return () => {
    const now = performance.now();
    tokens = Math.min(rate, tokens + ((now - refilled) / 1000) * rate);
    refilled = now;
    if (tokens < 1) return 429;
    tokens -= 1;
    return 200;
  };
}

/** Starts a sink that answers `status` (or what `answer` says for each request) without delay. */
export async function startSink(status: number | (() => number) = 200): Promise<Sink> {
  const answer = typeof status === "number" ? () => status : status;
  const { cert, key } = await testCertificates();
  const firstArrival = new Map<string, number>();
  const attempts = new Map<string, number[]>();
  const sink = {
    firstArrival,
    attempts,
    received: 0,
    arrivals: [],
    limited: 0,
    deliveredAt: new Map(),
    deliveredAgain: 0,
  } as unknown as Sink;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert, key, onListen: () => {} },
    async (req) => {
      const now = performance.now();
      sink.arrivals.push(Date.now());
      const id = req.headers.get("webhook-id") ?? "";
      await req.arrayBuffer();
      sink.received++;
      if (!firstArrival.has(id)) firstArrival.set(id, now);
      const list = attempts.get(id) ?? [];
      list.push(Date.now());
      attempts.set(id, list);
      const code = answer();
      if (code === 429) {
        sink.limited++;
        return new Response("slow down", { status: 429, headers: { "retry-after": "1" } });
      }
      if (code === 200) {
        if (sink.deliveredAt.has(id)) sink.deliveredAgain++;
        else sink.deliveredAt.set(id, performance.now());
      }
      return new Response("ok", { status: code });
    },
  );
  sink.url = `https://127.0.0.1:${server.addr.port}/sink`;
  sink.close = () => server.shutdown();
  return sink;
}
