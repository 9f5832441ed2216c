/** Connects to Temporal through the SDK's native (Rust) connection, for the client and worker. */
import { Client } from "@temporalio/client";
import { NativeConnection, Runtime } from "@temporalio/worker";
import type { Config } from "../config.ts";
import { log } from "../log.ts";
import { sdkMetricsAddress } from "./sdk_metrics.ts";

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

let runtimeInstalled = false;

/**
 * Routes the SDK's native logs into Herald's logs and turns its Prometheus exporter on (on a
 * loopback port that /metrics scrapes), once per process.
 */
export function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    telemetryOptions: { metrics: { prometheus: { bindAddress: sdkMetricsAddress() } } },
    logger: {
      log() {},
      trace() {},
      debug() {},
      info() {},
      warn: (m: string, meta?: Record<string, unknown>) => log.warn(m, describe(meta)),
      error: (m: string, meta?: Record<string, unknown>) => log.error(m, describe(meta)),
    } as never,
  });
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
  installRuntime();
  return await NativeConnection.connect({
    address: target.address,
    apiKey: target.apiKey,
    tls: await tlsOptions(target),
  });
}

/** A client over a native connection. */
export function temporalClient(connection: NativeConnection, namespace: string): Client {
  return new Client({ connection, namespace });
}

/** Answers whether Temporal's frontend serves the namespace. */
export async function pingTemporal(client: Client): Promise<void> {
  await client.workflowService.describeNamespace({ namespace: client.options.namespace });
}
