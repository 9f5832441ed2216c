/** Connects to Temporal through the SDK's native (Rust) connection, for the client and worker. */
import { Client, type ClientInterceptors } from "@temporalio/client";
import { IllegalStateError } from "@temporalio/common";
import { NativeConnection, Runtime, type RuntimeOptions } from "@temporalio/worker";
import type { Config } from "../config.ts";
import { log } from "../log.ts";
import { freeLoopbackAddress, setSdkMetricsAddress } from "./sdk_metrics.ts";

/** How to reach Temporal, from the configuration. */
export interface TemporalTarget {
  address: string;
  namespace: string;
  taskQueue: string;
  apiKey?: string;
  tls?: Config["temporal"]["tls"];
}

/** The TLS options of a connection, read from the files the configuration names. */
export async function tlsOptions(target: Pick<TemporalTarget, "tls">) {
  const tls = target.tls;
  if (!tls?.enabled) return undefined;
  const read = (path?: string) => (path ? Deno.readFile(path) : Promise.resolve(undefined));
  const [crt, key, ca] = await Promise.all([
    read(tls.certFile),
    read(tls.keyFile),
    read(tls.caFile),
  ]);
  return {
    serverNameOverride: tls.serverName,
    serverRootCACertificate: ca,
    clientCertPair: crt && key ? { crt, key } : undefined,
  };
}

/** The runtime's options: the SDK's native logs into Herald's, its metrics on `bindAddress`. */
function runtimeOptions(bindAddress: string): RuntimeOptions {
  return {
    telemetryOptions: { metrics: { prometheus: { bindAddress } } },
    logger: {
      log() {},
      trace() {},
      debug() {},
      info() {},
      warn: (m: string, meta?: Record<string, unknown>) => log.warn(m, describe(meta)),
      error: (m: string, meta?: Record<string, unknown>) => log.error(m, describe(meta)),
    } as never,
  };
}

/** The SDK could not bind its metrics exporter: the port picked for it was taken meanwhile. */
function exporterPortTaken(err: unknown): boolean {
  return /prometheus metrics exporter: address already in use/i.test(String(err));
}

/**
 * Installs the SDK's runtime unless one runs: its native logs go to Herald's logs, and its
 * Prometheus exporter serves on a loopback port that /metrics reads. The SDK ends its runtime
 * when the last connection closes and makes another for the next; each install takes a new port.
 */
export function installRuntime(): void {
  for (let attempt = 1;; attempt++) {
    const bindAddress = freeLoopbackAddress();
    try {
      Runtime.install(runtimeOptions(bindAddress));
      setSdkMetricsAddress(bindAddress);
      return;
    } catch (err) {
      if (err instanceof IllegalStateError) return;
      if (!exporterPortTaken(err) || attempt >= 3) throw err;
    }
  }
}

/** The SDK's log metadata as plain fields: errors as their message and stack. */
function describe(meta: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta ?? {})) {
    out[key] = value instanceof Error ? `${value.stack ?? value.message}` : value;
  }
  return out;
}

/**
 * Opens a native connection. The client uses it too: the Rust connection avoids the HTTP/2
 * layer of Deno's Node compatibility, which aborts the process when a server goes away.
 */
export async function connectTemporal(
  target: Omit<TemporalTarget, "taskQueue">,
): Promise<NativeConnection> {
  const tls = await tlsOptions(target);
  for (let attempt = 1;; attempt++) {
    installRuntime();
    try {
      return await NativeConnection.connect({
        address: target.address,
        apiKey: target.apiKey,
        tls,
      });
    } catch (err) {
      // The SDK made its runtime again with the last port, which was taken meanwhile.
      if (!exporterPortTaken(err) || attempt >= 3) throw err;
    }
  }
}

/** A client over a native connection. */
export function temporalClient(
  connection: NativeConnection,
  namespace: string,
  interceptors?: ClientInterceptors,
): Client {
  return new Client({ connection, namespace, interceptors });
}

/** Answers whether Temporal's frontend serves the namespace. */
export async function pingTemporal(client: Client): Promise<void> {
  await client.workflowService.describeNamespace({ namespace: client.options.namespace });
}
