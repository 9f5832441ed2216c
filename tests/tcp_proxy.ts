/** A TCP proxy a test can cut and restore, to make PostgreSQL unreachable without stopping it. */

/** A running proxy. */
export interface TcpProxy {
  port: number;
  /** Drops every connection and stops listening (connections are refused) until restored. */
  cut(): void;
  /** Listens again on the same port. */
  restore(): void;
  close(): void;
}

/** Forwards 127.0.0.1:<port> to the target. */
export function startTcpProxy(target: { hostname: string; port: number }): TcpProxy {
  const open = new Set<Deno.Conn>();
  let listener: Deno.Listener | undefined;
  const closeAll = () => {
    for (const conn of open) {
      try {
        conn.close();
      } catch {
        // Already closed by the other side.
      }
    }
    open.clear();
  };
  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    try {
      await from.readable.pipeTo(to.writable);
    } catch {
      // A cut or a peer that went away.
    }
  };
  const listen = (port: number) => {
    const current = Deno.listen({ hostname: "127.0.0.1", port });
    listener = current;
    (async () => {
      for await (const client of current) {
        try {
          const server = await Deno.connect(target);
          open.add(client).add(server);
          Promise.all([pipe(client, server), pipe(server, client)]).finally(() => {
            open.delete(client);
            open.delete(server);
          });
        } catch {
          client.close();
        }
      }
    })().catch(() => {});
    return (current.addr as Deno.NetAddr).port;
  };
  const port = listen(0);
  const stop = () => {
    listener?.close();
    listener = undefined;
    closeAll();
  };
  return {
    port,
    cut: stop,
    restore: () => void (listener ??= (listen(port), listener)),
    close: stop,
  };
}
