/**
 * The deliveries' egress proxy, in the worker's process on loopback: every delivery connection
 * goes through it. It resolves the webhook's host once, checks every address against the URL
 * policy, and connects to exactly the address it checked, so a name that resolves elsewhere a
 * moment later (DNS rebinding) never reaches a refused address. HTTPS goes through as a tunnel
 * (`CONNECT host:port`), so TLS stays end to end with the original name; plain HTTP (development
 * only) is forwarded one request per connection.
 */
import {
  addressesRefusal,
  isAddressLiteral,
  normalHost,
  type UrlPolicy,
} from "../src/domain/url_policy.ts";
import { type Resolver, systemResolver } from "../src/net/url_addresses.ts";
import { DeadlineExceeded, withinMs } from "../src/deadline.ts";

/** What the proxy needs. */
export interface EgressOptions {
  policy: UrlPolicy;
  /** How host names resolve; tests hand in their own. */
  resolve?: Resolver;
  /** How long a lookup may take (an attempt's timeout). */
  lookupTimeoutMs: number;
}

/** A running proxy. */
export interface EgressProxy {
  /** The proxy's URL, for `Deno.createHttpClient({ proxy: { url } })`. */
  url: string;
  /**
   * The error text of the proxy's refusal of a connection of this client, or of its failure to
   * connect (within the last minute), taken once: the attempt that holds the client records it
   * instead of the HTTP client's generic proxy error. A client names itself as the proxy's user
   * name (workers/send.ts: one attempt at a time per client). Refusals start with `Refused:`.
   */
  takeRefusal(clientName: string): string | undefined;
  close(): void;
}

/**
 * The largest request head the proxy reads: well above the largest a delivery sends over plain
 * HTTP: 20 custom headers of 64 + 1,024 bytes, a 2,048-character URL and Herald's own headers
 * come to about 24 KiB, and each secret retired in the last 24 hours adds a 48-byte signature.
 */
const MAX_HEAD_BYTES = 64 * 1024;
const encoder = new TextEncoder();

/** The client a request names as the proxy's user (`Proxy-Authorization: Basic`), if any. */
function clientOf(headers: string[]): string | undefined {
  for (const header of headers) {
    const match = /^proxy-authorization:\s*basic\s+(\S+)\s*$/i.exec(header);
    if (!match) continue;
    try {
      const [user] = atob(match[1]!).split(":");
      return user || undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The one address to connect to for `host`, or why none may be. */
async function decide(
  host: string,
  resolve: Resolver,
  options: EgressOptions,
): Promise<{ address: string } | { refusal: string }> {
  const bare = normalHost(host);
  let addresses: string[];
  if (isAddressLiteral(bare)) {
    addresses = [bare];
  } else {
    try {
      addresses = await withinMs(resolve(bare), options.lookupTimeoutMs, "the lookup");
    } catch (err) {
      return {
        refusal: err instanceof DeadlineExceeded
          ? `Refused: the URL's host ${bare} did not resolve within ${options.lookupTimeoutMs} ms`
          : `Refused: the URL's host ${bare} does not resolve`,
      };
    }
  }
  if (addresses.length === 0) {
    return { refusal: `Refused: the URL's host ${bare} does not resolve` };
  }
  const refusal = addressesRefusal(bare, addresses, options.policy);
  if (refusal) return { refusal: `Refused: the URL ${refusal}` };
  return { address: addresses[0]! };
}

/**
 * Where a proxied request goes: a CONNECT's `host:port`, or a plain-http request's URL, which is
 * forwarded in origin form, one request per connection. Undefined for anything else.
 */
function targetOf(
  method: string | undefined,
  target: string | undefined,
  headers: string[],
): { host: string; port: number; forward?: Uint8Array } | undefined {
  if (method === "CONNECT" && target) {
    const split = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
    return split ? { host: split[1]!, port: Number(split[2]) } : undefined;
  }
  let url: URL;
  try {
    url = new URL(target ?? "");
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:") return undefined;
  const kept = headers.filter((h) =>
    !/^(proxy-connection|connection|proxy-authorization):/i.test(h)
  );
  const forward = encoder.encode(
    `${method} ${url.pathname}${url.search} HTTP/1.1\r\n${
      kept.join("\r\n")
    }\r\nconnection: close\r\n\r\n`,
  );
  return { host: url.hostname, port: Number(url.port || 80), forward };
}

/**
 * The most a tunnel reads at once in each direction: a TLS record. Each open tunnel holds one such
 * buffer per direction while it waits, so a worker keeping a few hundred connections to its
 * receivers holds a few MB for them (web streams' 64 KiB reads held 25 MB at a burst's peak).
 */
const TUNNEL_CHUNK_BYTES = 16 * 1024;

/** Copies the client and the upstream into each other until both ends close, then closes both. */
async function tunnel(
  client: Deno.Conn,
  upstream: Deno.TcpConn,
  forward: Uint8Array | undefined,
  rest: Uint8Array,
): Promise<void> {
  const close = () => {
    for (const conn of [upstream, client]) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
  };
  try {
    if (forward) await writeAll(upstream, forward);
    else await writeAll(client, encoder.encode("HTTP/1.1 200 Connection Established\r\n\r\n"));
    if (rest.length > 0) await writeAll(upstream, rest);
    // A failure either way ends the tunnel: closing both ends the other direction's read too.
    await Promise.all([pump(client, upstream), pump(upstream, client)].map((p) => p.catch(close)));
  } finally {
    close();
  }
}

/** Copies one direction of a tunnel until its end, then passes the end on (a half-close). */
async function pump(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(TUNNEL_CHUNK_BYTES);
  for (;;) {
    const n = await from.read(buffer);
    if (n === null) break;
    await writeAll(to, buffer.subarray(0, n));
  }
  await to.closeWrite();
}

/** Why the proxy refused each client (an attempt's lane), until that attempt comes for it. */
class Refusals {
  #byClient = new Map<string, { reason: string; at: number }>();

  record(client: string, reason: string): void {
    const now = Date.now();
    // A refusal nobody came for (its attempt stopped) is kept a minute at most.
    if (this.#byClient.size > 1_000) {
      for (const [key, { at }] of this.#byClient) if (now - at > 60_000) this.#byClient.delete(key);
    }
    this.#byClient.set(client, { reason, at: now });
  }

  take(client: string): string | undefined {
    const found = this.#byClient.get(client);
    this.#byClient.delete(client);
    return found && Date.now() - found.at < 60_000 ? found.reason : undefined;
  }
}

/** Starts the proxy on 127.0.0.1, on a free port. */
export function startEgressProxy(options: EgressOptions): EgressProxy {
  const resolve = options.resolve ?? systemResolver;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const refusals = new Refusals();

  async function handle(client: Deno.Conn): Promise<void> {
    const { head, rest } = await readHead(client);
    const [requestLine = "", ...headers] = head.split("\r\n");
    const [method, target] = requestLine.split(" ");
    const to = targetOf(method, target, headers);
    if (!to) return await answer(client, 400);
    const named = clientOf(headers);
    const refuse = (reason: string) => named && refusals.record(named, reason);
    const decided = await decide(to.host, resolve, options);
    if ("refusal" in decided) {
      refuse(decided.refusal);
      return await answer(client, 403);
    }
    let upstream: Deno.TcpConn;
    try {
      upstream = await Deno.connect({ hostname: decided.address, port: to.port });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      refuse(`Connection failed: ${decided.address}:${to.port}: ${message}`);
      return await answer(client, 502);
    }
    await tunnel(client, upstream, to.forward, rest);
  }

  (async () => {
    for await (const conn of listener) {
      handle(conn).catch(() => {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      });
    }
  })().catch(() => {});

  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    takeRefusal: (clientName) => refusals.take(clientName),
    close: () => listener.close(),
  };
}

/** Reads the request head (up to the blank line) and whatever came after it. */
async function readHead(conn: Deno.Conn): Promise<{ head: string; rest: Uint8Array }> {
  let buffer = new Uint8Array(0);
  const chunk = new Uint8Array(4096);
  while (buffer.length < MAX_HEAD_BYTES) {
    const n = await conn.read(chunk);
    if (n === null) break;
    const next = new Uint8Array(buffer.length + n);
    next.set(buffer);
    next.set(chunk.subarray(0, n), buffer.length);
    buffer = next;
    const end = findBlankLine(buffer);
    if (end >= 0) {
      return {
        head: new TextDecoder().decode(buffer.subarray(0, end)),
        rest: buffer.subarray(end + 4),
      };
    }
  }
  throw new Error("No request head");
}

function findBlankLine(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

async function answer(conn: Deno.Conn, status: 400 | 403 | 502): Promise<void> {
  const text = { 400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway" }[status];
  try {
    await writeAll(
      conn,
      encoder.encode(
        `HTTP/1.1 ${status} ${text}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`,
      ),
    );
  } finally {
    conn.close();
  }
}
