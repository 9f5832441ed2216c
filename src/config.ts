/** Herald's configuration: every environment variable, parsed once by one zod schema. */
import { z } from "zod";
import { parseNetworks } from "./domain/url_policy.ts";
import { tracesRequested } from "./traces/mod.ts";

/**
 * The delivery rule's defaults (DELIVERY_MAX_ATTEMPTS, DELIVERY_RETRY_INTERVAL): a failed send is
 * tried 5 times, 5 s apart.
 */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** The default pause between two attempts of one payload, in milliseconds. */
export const DEFAULT_RETRY_INTERVAL_MS = 5_000;

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses `250ms`, `5s`, `2m`, `1h` or `30d` into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

const duration = (fallback: string) =>
  z.string().default(fallback).transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({
        code: "custom",
        message: `expected a duration such as 500ms, 5s or 2m, got "${text}"`,
      });
      return z.NEVER;
    }
    return ms;
  });

/** RETENTION: a duration such as `30d` or `12h`, or `0` (kept for ever, returned as 0). */
const retention = z.string().default("30d").transform((text, ctx) => {
  if (text.trim() === "0") return 0;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({
      code: "custom",
      message: `expected a duration such as 30d or 12h, or 0 to keep everything, got "${text}"`,
    });
    return z.NEVER;
  }
  return ms;
});

const flag = z.enum(["true", "false", "1", "0", ""]).default("false").transform((v) =>
  v === "true" || v === "1"
);

/** `true`/`false`, or a comma-separated list of CIDRs allowed although not public. */
const networks = z.string().default("false").transform((text, ctx) => {
  const value = text.trim();
  if (["true", "1"].includes(value)) return { all: true, networks: [] as string[] };
  if (["false", "0", ""].includes(value)) return { all: false, networks: [] as string[] };
  const list = value.split(",").map((cidr) => cidr.trim()).filter(Boolean);
  try {
    parseNetworks(list);
  } catch {
    ctx.addIssue({
      code: "custom",
      message: `expected true, false or CIDRs such as 127.0.0.1/32, got "${text}"`,
    });
    return z.NEVER;
  }
  return { all: false, networks: list };
});

const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);

const optionalText = z.string().trim().optional().transform((v) => (v ? v : undefined));

/** PUBLIC_HOSTS: comma-separated `host` or `host:port` entries, lower case; empty = no check. */
const hostList = z.string().default("").transform((text, ctx) => {
  const list = text.split(",").map((host) => host.trim().toLowerCase()).filter(Boolean);
  const bad = list.find((host) =>
    !/^([a-z0-9_-]+\.)*[a-z0-9_-]+\.?(:\d{1,5})?$/.test(host) &&
    !/^\[[0-9a-f:.]+\](:\d{1,5})?$/.test(host)
  );
  if (bad !== undefined) {
    ctx.addIssue({
      code: "custom",
      message:
        `expected host names such as herald.example.com or herald.example.com:8443, got "${bad}"`,
    });
    return z.NEVER;
  }
  return list;
});

/**
 * PORTAL_FRAME_ANCESTORS: origins (`https://app.example.com`) allowed to frame the dashboard,
 * separated by commas or spaces; empty = no framing.
 */
const originList = z.string().default("").transform((text, ctx) => {
  const list = text.split(/[\s,]+/).filter(Boolean);
  const bad = list.find((origin) => {
    try {
      const url = new URL(origin);
      return !["http:", "https:"].includes(url.protocol) ||
        url.origin !== origin.replace(/\/$/, "");
    } catch {
      return true;
    }
  });
  if (bad !== undefined) {
    ctx.addIssue({
      code: "custom",
      message:
        `expected origins such as https://app.example.com (scheme, host, port), got "${bad}"`,
    });
    return z.NEVER;
  }
  return list.map((origin) => new URL(origin).origin);
});

/** The schema of Herald's environment; exported for the README and tests. */
export const envSchema = z.object({
  PORT: port(8080),
  HOST: z.string().min(1).default("127.0.0.1"),
  DATABASE_URL: optionalText.pipe(
    z.string().regex(/^postgres(ql)?:\/\//, "expected a postgres:// URL").optional(),
  ),
  HERALD_DATA_DIR: z.string().min(1).default("./data"),
  TEMPORAL_ADDRESS: optionalText,
  TEMPORAL_DEV_PORT: port(7233),
  TEMPORAL_UI_PORT: port(8233),
  TEMPORAL_NAMESPACE: z.string().min(1).default("default"),
  TEMPORAL_CREATE_NAMESPACE: z.enum(["true", "false", "1", "0", ""]).optional()
    .transform((v) => (v === undefined || v === "" ? undefined : v === "true" || v === "1")),
  TEMPORAL_UI_URL: optionalText.pipe(z.url().optional()),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default("herald-deliveries"),
  TEMPORAL_API_KEY: optionalText,
  TEMPORAL_TLS: flag,
  TEMPORAL_TLS_CERT_FILE: optionalText,
  TEMPORAL_TLS_KEY_FILE: optionalText,
  TEMPORAL_TLS_CA_FILE: optionalText,
  TEMPORAL_TLS_SERVER_NAME: optionalText,
  ADMIN_TOKEN: optionalText.pipe(z.string().min(16, "must be at least 16 characters").optional()),
  DELIVERY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(DEFAULT_MAX_ATTEMPTS),
  DELIVERY_RETRY_INTERVAL: duration(`${DEFAULT_RETRY_INTERVAL_MS / 1000}s`),
  DELIVERY_TIMEOUT: duration("10s"),
  ALLOW_INSECURE_URLS: flag,
  ALLOW_PRIVATE_NETWORKS: networks,
  TLS_CA_FILE: optionalText,
  RECONCILE_INTERVAL: duration("30s"),
  RECONCILE_GRACE: duration("30s"),
  RETENTION: retention,
  API_RATE_LIMIT: z.coerce.number().int().min(0).default(100),
  AUTH_FAILURE_LIMIT: z.coerce.number().int().min(0).default(20),
  METRICS_TOKEN: optionalText,
  TRUST_PROXY: flag,
  PUBLIC_HOSTS: hostList,
  PORTAL_FRAME_ANCESTORS: originList,
  PORTAL_TITLE: z.string().trim().max(100).default("Herald").transform((v) => v || "Herald"),
  WORKER_METRICS_PORT: port(9464),
  MAX_WEBHOOKS_PER_ORGANIZATION: z.coerce.number().int().min(1).default(100),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  // Deno's own OpenTelemetry records each request's full URL; Herald sends traces itself.
  OTEL_DENO: z.string().optional().refine(
    (v) => !["true", "1"].includes(v?.trim().toLowerCase() ?? ""),
    "must not be set: Deno's own OpenTelemetry records the full URL of every request, and " +
      "webhook URLs carry secrets; Herald sends its traces itself once " +
      "OTEL_EXPORTER_OTLP_ENDPOINT is set",
  ),
});

/** Herald's parsed configuration. */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  temporal: {
    address: string | undefined;
    devPort: number;
    uiPort: number;
    namespace: string;
    /** Create the namespace at start when it is missing (default: only on the embedded server). */
    createNamespace: boolean;
    taskQueue: string;
    /** The Web UI of an external cluster, for links from the dashboard. */
    uiUrl: string | undefined;
    apiKey: string | undefined;
    tls: {
      enabled: boolean;
      certFile?: string;
      keyFile?: string;
      caFile?: string;
      serverName?: string;
    };
  };
  adminToken: string | undefined;
  delivery: {
    maxAttempts: number;
    retryIntervalMs: number;
    timeoutMs: number;
    allowInsecureUrls: boolean;
    allowPrivateNetworks: boolean;
    allowedNetworks: string[];
    caFile: string | undefined;
  };
  logLevel: "debug" | "info" | "warn" | "error";
  /** Requests per second per API key (bursts of twice that); 0 turns the limit off. */
  apiRateLimit: number;
  /** The bearer token /metrics requires; unset leaves it open. */
  metricsToken: string | undefined;
  /** OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT set): see src/traces/. */
  traces: boolean;
  /** Port of the worker's /healthz, /readyz and /metrics when it runs without the API. */
  workerMetricsPort: number;
  /** Failed authentications per minute per client address; 0 turns the throttle off. */
  authFailureLimit: number;
  /** Whether a proxy in front sets X-Forwarded-Proto and X-Forwarded-Host (dashboard cookies, origin checks). */
  trustProxy: boolean;
  /** The names Herald is reached by; set, the routes that need no token answer only to them. */
  publicHosts: string[];
  /** The dashboard as a platform hands it to its customers (portal links). */
  portal: {
    /** Origins allowed to frame the dashboard; empty: no framing. */
    frameAncestors: string[];
    /** The name the dashboard shows instead of Herald's. */
    title: string;
  };
  /** Webhooks one organization may have; more is refused with 409 `limit_reached`. */
  maxWebhooksPerOrganization: number;
  /** How often the reconciler runs, and how long a payload may stay pending before it acts. */
  reconcile: { intervalMs: number; graceMs: number };
  /** How long final payloads, their attempts and their events are kept; 0 keeps them for ever. */
  retentionMs: number;
}

/** Thrown when the environment holds a bad value; the message names each variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses an environment (by default the process's) into a Config, or throws ConfigError. */
export function loadConfig(env: Record<string, string | undefined> = Deno.env.toObject()): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.HERALD_DATA_DIR,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      devPort: e.TEMPORAL_DEV_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
      namespace: e.TEMPORAL_NAMESPACE,
      createNamespace: e.TEMPORAL_CREATE_NAMESPACE ?? !e.TEMPORAL_ADDRESS,
      uiUrl: e.TEMPORAL_UI_URL,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      apiKey: e.TEMPORAL_API_KEY,
      tls: {
        enabled: e.TEMPORAL_TLS || !!e.TEMPORAL_TLS_CERT_FILE || !!e.TEMPORAL_API_KEY,
        certFile: e.TEMPORAL_TLS_CERT_FILE,
        keyFile: e.TEMPORAL_TLS_KEY_FILE,
        caFile: e.TEMPORAL_TLS_CA_FILE,
        serverName: e.TEMPORAL_TLS_SERVER_NAME,
      },
    },
    adminToken: e.ADMIN_TOKEN,
    delivery: {
      maxAttempts: e.DELIVERY_MAX_ATTEMPTS,
      retryIntervalMs: e.DELIVERY_RETRY_INTERVAL,
      timeoutMs: e.DELIVERY_TIMEOUT,
      allowInsecureUrls: e.ALLOW_INSECURE_URLS,
      allowPrivateNetworks: e.ALLOW_PRIVATE_NETWORKS.all,
      allowedNetworks: e.ALLOW_PRIVATE_NETWORKS.networks,
      caFile: e.TLS_CA_FILE,
    },
    logLevel: e.LOG_LEVEL,
    apiRateLimit: e.API_RATE_LIMIT,
    authFailureLimit: e.AUTH_FAILURE_LIMIT,
    metricsToken: e.METRICS_TOKEN,
    traces: tracesRequested(env),
    trustProxy: e.TRUST_PROXY,
    publicHosts: e.PUBLIC_HOSTS,
    portal: { frameAncestors: e.PORTAL_FRAME_ANCESTORS, title: e.PORTAL_TITLE },
    workerMetricsPort: e.WORKER_METRICS_PORT,
    maxWebhooksPerOrganization: e.MAX_WEBHOOKS_PER_ORGANIZATION,
    reconcile: { intervalMs: e.RECONCILE_INTERVAL, graceMs: e.RECONCILE_GRACE },
    retentionMs: e.RETENTION,
  };
}
