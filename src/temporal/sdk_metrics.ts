/**
 * The Temporal SDK's own metrics. The SDK's Prometheus exporter serves them on a loopback port
 * Herald picks; each process's `/metrics` appends them, so one URL per process shows both.
 */
import { withinMs } from "../deadline.ts";

let address: string | undefined;

/** A loopback address nobody listens on now, for the SDK's exporter to bind. */
export function freeLoopbackAddress(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  listener.close();
  return `127.0.0.1:${listener.addr.port}`;
}

/** Records where the SDK's exporter serves, once a runtime bound it: /metrics reads it there. */
export function setSdkMetricsAddress(bound: string): void {
  address = bound;
}

/**
 * The SDK's metrics in the Prometheus text format, or "" when its exporter does not answer
 * within a second (its metrics are then missing from one scrape, the rest is served).
 */
export async function scrapeSdkMetrics(): Promise<string> {
  if (!address) return "";
  try {
    return await withinMs(get(address, "/metrics"), 1_000, "the Temporal SDK's metrics");
  } catch {
    return "";
  }
}

/**
 * One HTTP/1.0 GET over a plain TCP connection. Not `fetch`: it would go through an HTTP_PROXY
 * from the environment, and this port is this process's own loopback.
 */
async function get(hostPort: string, path: string): Promise<string> {
  const [hostname, port] = hostPort.split(":") as [string, string];
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    await conn.write(new TextEncoder().encode(`GET ${path} HTTP/1.0\r\nHost: ${hostPort}\r\n\r\n`));
    const response = await new Response(conn.readable).text();
    const split = response.indexOf("\r\n\r\n");
    if (!/^HTTP\/1\.[01] 200 /.test(response) || split < 0) {
      throw new Error(`Unexpected answer: ${response.slice(0, 40)}`);
    }
    return response.slice(split + 4);
  } finally {
    try {
      conn.close();
    } catch {
      // The readable side closed it already.
    }
  }
}
