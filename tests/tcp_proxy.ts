/** A TCP proxy a test can cut and restore, to make PostgreSQL unreachable without stopping it. */

/** A running proxy. */
export interface TcpProxy {
  port: number;
  /** Drops every connection and refuses new ones until restored. */
  cut(): void;
  restore(): void;
  close(): void;
}

/** Forwards 127.0.0.1:<port> to the target. */
export function startTcpProxy(target: { hostname: string; port: number }): TcpProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  let down = false;
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
  (async () => {
    for await (const client of listener) {
      if (down) {
        client.close();
        continue;
      }
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
  return {
    port: (listener.addr as Deno.NetAddr).port,
    cut() {
      down = true;
      closeAll();
    },
    restore() {
      down = false;
    },
    close() {
      down = true;
      listener.close();
      closeAll();
    },
  };
}
