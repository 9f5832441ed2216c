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
      const rawBody = await req.text();
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(rawBody);
      } catch {
        // Recorded as an empty object; tests compare rawBody when they need it.
      }
      const entry = { at: Date.now(), headers: Object.fromEntries(req.headers), rawBody, body };
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
