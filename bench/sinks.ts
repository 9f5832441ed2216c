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
  close(): Promise<void>;
}

/** Starts a sink that answers `status` without delay. */
export async function startSink(status = 200): Promise<Sink> {
  const { cert, key } = await testCertificates();
  const firstArrival = new Map<string, number>();
  const attempts = new Map<string, number[]>();
  const sink = { firstArrival, attempts, received: 0 } as Sink;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert, key, onListen: () => {} },
    async (req) => {
      const now = performance.now();
      const id = req.headers.get("webhook-id") ?? "";
      await req.arrayBuffer();
      sink.received++;
      if (!firstArrival.has(id)) firstArrival.set(id, now);
      const list = attempts.get(id) ?? [];
      list.push(Date.now());
      attempts.set(id, list);
      return new Response("ok", { status });
    },
  );
  sink.url = `https://127.0.0.1:${server.addr.port}/sink`;
  sink.close = () => server.shutdown();
  return sink;
}
