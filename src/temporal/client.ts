/** Connects to Temporal: the client for starting workflows and sending signals. */
import { Client, Connection, type ConnectionOptions } from "@temporalio/client";
import type { Config } from "../config.ts";

/** How to reach Temporal, from the configuration. */
export interface TemporalTarget {
  address: string;
  namespace: string;
  taskQueue: string;
  apiKey?: string;
  tls?: Config["temporal"]["tls"];
}

/** The TLS options of a connection, read from the files the configuration names. */
export async function tlsOptions(target: TemporalTarget) {
  const tls = target.tls;
  if (!tls?.enabled) return undefined;
  const read = (path?: string) => (path ? Deno.readFile(path) : Promise.resolve(undefined));
  const [crt, key, ca] = await Promise.all([read(tls.certFile), read(tls.keyFile), read(tls.caFile)]);
  return {
    serverNameOverride: tls.serverName,
    serverRootCACertificate: ca,
    clientCertPair: crt && key ? { crt, key } : undefined,
  };
}

/** Opens a client connection; fails fast when Temporal does not answer. */
export async function connectClient(target: TemporalTarget): Promise<Client> {
  const options: ConnectionOptions = {
    address: target.address,
    apiKey: target.apiKey,
    tls: await tlsOptions(target),
    connectTimeout: "5s",
  };
  const connection = await Connection.connect(options);
  return new Client({ connection, namespace: target.namespace });
}

/** Answers whether Temporal's frontend serves the namespace. */
export async function pingTemporal(client: Client): Promise<void> {
  await client.workflowService.describeNamespace({ namespace: client.options.namespace });
}
