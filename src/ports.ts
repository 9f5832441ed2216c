/**
 * The ports Herald listens on, each set by one variable: a port in use stops the start with a
 * message naming the port and that variable, before anything slow has started.
 */

/** A port Herald is about to listen on, and the variable that sets it. */
export interface PortUse {
  host: string;
  port: number;
  variable: "PORT" | "WORKER_METRICS_PORT" | "TEMPORAL_DEV_PORT" | "TEMPORAL_UI_PORT";
}

/** Something listens on a port Herald needs. */
export class PortInUse extends Error {
  override name = "PortInUse";
  constructor(use: PortUse) {
    super(
      `Port ${use.port} on ${use.host} is already in use (set by ${use.variable}): stop what ` +
        `listens there, or set ${use.variable} to another port (0 picks a free one)`,
    );
  }
}

/** Throws PortInUse for the first of `uses` that something listens on already (port 0 is free). */
export function checkPortsFree(uses: PortUse[]): void {
  for (const use of uses) {
    if (use.port === 0) continue;
    try {
      Deno.listen({ hostname: use.host, port: use.port }).close();
    } catch (err) {
      if (err instanceof Deno.errors.AddrInUse) throw new PortInUse(use);
      throw err;
    }
  }
}

/** `Deno.serve` on a port, whose failure to bind names the port and its variable. */
export function serveOn(
  use: PortUse,
  handler: Deno.ServeHandler,
): Deno.HttpServer<Deno.NetAddr> {
  try {
    return Deno.serve({ hostname: use.host, port: use.port, onListen: () => {} }, handler);
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) throw new PortInUse(use);
    throw err;
  }
}

/** The URL of a server listening on `host`, for banners and links. */
export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
