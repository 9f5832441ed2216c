/**
 * Starts the real stack for tests: a Temporal dev server on free ports (or the running server named
 * by TEST_TEMPORAL_ADDRESS), a fresh database on the machine's PostgreSQL (TEST_DATABASE_URL or
 * DATABASE_URL; PGlite when neither is set), and Herald's API and worker in-process. Everything is
 * shared by the tests of one run.
 */
import postgres from "postgres";
import { loadConfig } from "../src/config.ts";
import { type DatabaseHandle, migrateToLatest, openPglite, openPostgres } from "../src/db/mod.ts";
import { startDevServer } from "../src/temporal/dev_server.ts";
import { connectTemporal } from "../src/temporal/client.ts";
import { type Herald, startHerald } from "../src/herald.ts";
import type { Resolver } from "../src/net/url_addresses.ts";
import { setLogLevel } from "../src/log.ts";
import { DeadlineExceeded, withinMs } from "../src/deadline.ts";
import { testCertificates } from "./tls.ts";
import { type HeraldClient, heraldClient, type Schemas } from "../src/client/mod.ts";

/** The admin token every test stack uses. */
export const ADMIN_TOKEN = "hadm_test_admin_token_0123456789";

/** The PostgreSQL server the tests use, or undefined for PGlite. */
export const serverUrl = Deno.env.get("TEST_DATABASE_URL") ?? Deno.env.get("DATABASE_URL");
/** Whether tests that share one database between processes can run. */
export const usesPostgres = !!serverUrl;

/**
 * A running Temporal server to use instead of starting a dev server (`.ci/temporal_server.sh` sets
 * it): the same tests then run against a real cluster. Its `default` namespace must exist.
 */
export const externalTemporalAddress = Deno.env.get("TEST_TEMPORAL_ADDRESS") || undefined;
/** Whether this run uses an external Temporal server rather than its own dev server. */
export const usesExternalTemporal = !!externalTemporalAddress;

/** Defines a test over the real stack (whose native parts keep resources open between tests). */
export function test(
  name: string,
  fn: () => void | Promise<void>,
  options: { ignore?: boolean } = {},
) {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false, ...options });
}

/** The Temporal server of a run: the harness's own dev server, or an external one. */
export interface TestTemporal {
  address: string;
  /** The Web UI, served by the dev server only when asked for. */
  uiUrl: string | undefined;
  /** Whether the server was started elsewhere (and so outlives the run). */
  external: boolean;
  /** Stops the dev server; leaves an external server running. */
  stop(): Promise<void>;
}

/** The database, the Temporal server and the CA shared by all Herald instances of a run. */
export interface Infra {
  database: DatabaseHandle;
  databaseUrl: string | undefined;
  temporal: TestTemporal;
  caFile: string;
  caCert: string;
}

let infra: Promise<Infra> | undefined;

async function freshPostgresDatabase(url: string): Promise<string> {
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  try {
    // Databases of earlier runs that did not get to clean up: older than an hour.
    const stale = await admin<{ datname: string }[]>`
      select datname from pg_database where datname like 'herald_test_%'`;
    for (const { datname } of stale) {
      const created = Number(datname.split("_")[2]);
      if (Date.now() - created > 3_600_000) {
        await admin.unsafe(`drop database if exists "${datname}" with (force)`);
      }
    }
    const name = `herald_test_${Date.now()}_${crypto.randomUUID().slice(0, 8)}`;
    await admin.unsafe(`create database "${name}"`);
    const fresh = new URL(url);
    fresh.pathname = `/${name}`;
    return fresh.toString();
  } finally {
    await admin.end();
  }
}

/** Starts (once) the shared parts; the first caller decides whether Temporal serves its Web UI. */
export function sharedInfra(options: { temporalUi?: boolean } = {}): Promise<Infra> {
  infra ??= (async () => {
    setLogLevel((Deno.env.get("TEST_LOG_LEVEL") as "error" | undefined) ?? "error");
    const { caFile, caCert } = await testCertificates();
    let database: DatabaseHandle;
    let databaseUrl: string | undefined;
    if (serverUrl) {
      databaseUrl = await freshPostgresDatabase(serverUrl);
      database = openPostgres(databaseUrl);
    } else {
      database = await openPglite(await Deno.makeTempDir({ prefix: "herald-pglite-" }));
    }
    await migrateToLatest(database.db);
    const temporal: TestTemporal = externalTemporalAddress
      ? await externalTemporal(externalTemporalAddress)
      : {
        ...await startDevServer({
          port: 0,
          uiPort: options.temporalUi ? 0 : undefined,
          progress: () => {},
        }),
        external: false,
      };
    return { database, databaseUrl, temporal, caFile, caCert };
  })();
  return infra;
}

/** The external server, once its `default` namespace answers (a clear error when it does not). */
async function externalTemporal(address: string): Promise<TestTemporal> {
  const connection = await connectTemporal({ address, namespace: "default" }).catch((err) => {
    throw new Error(`TEST_TEMPORAL_ADDRESS=${address}: no Temporal server answers: ${err}`);
  });
  try {
    await connection.workflowService.describeNamespace({ namespace: "default" }).catch((err) => {
      throw new Error(
        `TEST_TEMPORAL_ADDRESS=${address}: the namespace default is missing (create it with ` +
          `\`temporal operator namespace create -n default --address ${address}\`): ${err}`,
      );
    });
  } finally {
    await connection.close();
  }
  return { address, uiUrl: undefined, external: true, stop: () => Promise.resolve() };
}

/** Task queues of this run's Herald instances, whose schedules outlive an external server's run. */
const taskQueues = new Set<string>();

/**
 * Deletes the schedules this run's Herald instances made on an external server, whose workers are
 * gone: Herald names each schedule `herald-<what>:<task queue>` (src/temporal/names.ts).
 */
async function deleteSchedules(address: string): Promise<void> {
  const connection = await connectTemporal({ address, namespace: "default" });
  try {
    const ours: string[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await connection.workflowService.listSchedules({
        namespace: "default",
        maximumPageSize: 1000,
        nextPageToken,
      });
      for (const { scheduleId } of page.schedules ?? []) {
        const queue = /^herald-[a-z]+:(.+)$/.exec(scheduleId ?? "")?.[1];
        if (queue && taskQueues.has(queue)) ours.push(scheduleId!);
      }
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    for (const scheduleId of ours) {
      await connection.workflowService.deleteSchedule({
        namespace: "default",
        scheduleId,
        identity: "herald-tests",
      });
    }
  } finally {
    await connection.close();
  }
  taskQueues.clear();
}

/** A running Herald and what tests need to talk to it. */
export interface Stack {
  herald: Herald;
  infra: Infra;
  apiUrl: string;
  taskQueue: string;
}

const stacks = new Map<string, Promise<Stack>>();

/** The environment of a test Herald: private networks allowed (receivers are on loopback). */
export function testEnv(infra: Infra, env: Record<string, string>): Record<string, string> {
  if (env.TEMPORAL_TASK_QUEUE) taskQueues.add(env.TEMPORAL_TASK_QUEUE);
  return {
    PORT: "0",
    // Workers run side by side in tests: each picks a free port for its probes.
    WORKER_METRICS_PORT: "0",
    HERALD_DATA_DIR: Deno.makeTempDirSync({ prefix: "herald-data-" }),
    TEMPORAL_ADDRESS: infra.temporal.address,
    ADMIN_TOKEN,
    ALLOW_PRIVATE_NETWORKS: "true",
    API_RATE_LIMIT: "0",
    AUTH_FAILURE_LIMIT: "0",
    TLS_CA_FILE: infra.caFile,
    LOG_LEVEL: Deno.env.get("TEST_LOG_LEVEL") ?? "error",
    ...(infra.databaseUrl ? { DATABASE_URL: infra.databaseUrl } : {}),
    ...env,
  };
}

/**
 * A Herald with the given environment on top of the test defaults, started once per distinct
 * environment. Each has its own task queue, so settings do not mix.
 */
export function stack(
  env: Record<string, string> = {},
  parts: { resolve?: Resolver; beforeStart?: () => Promise<void> } = {},
): Promise<Stack> {
  // A stack with parts of its own is never shared.
  const key = JSON.stringify(Object.entries(env).sort()) +
    (parts.resolve || parts.beforeStart ? crypto.randomUUID() : "");
  let started = stacks.get(key);
  if (!started) {
    started = (async () => {
      const shared = await sharedInfra();
      const taskQueue = `herald-test-${stacks.size}-${crypto.randomUUID().slice(0, 6)}`;
      const config = loadConfig(testEnv(shared, { TEMPORAL_TASK_QUEUE: taskQueue, ...env }));
      const herald = await startHerald(config, {
        roles: { api: true, worker: true },
        database: shared.database,
        progress: () => {},
        resolve: parts.resolve,
        beforeStart: parts.beforeStart,
      });
      return { herald, infra: shared, apiUrl: herald.apiUrl!, taskQueue };
    })();
    stacks.set(key, started);
  }
  return started;
}

/** An answer of the API: its status and parsed JSON body (null when empty). */
export interface ApiAnswer {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
  headers: Headers;
}

/** Calls the API of a Herald at `url` (a process, or a stack) with a token and a JSON body. */
export async function callApi(
  url: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

/** Calls the API over HTTP. */
export async function api(
  s: Stack,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; raw?: BodyInit; headers?: Record<string, string> } =
    {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body = options.raw;
  if (options.body !== undefined) {
    headers["content-type"] ??= "application/json";
    body = JSON.stringify(options.body);
  }
  const response = await fetch(`${s.apiUrl}${path}`, { method, headers, body });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? JSON.parse(text) : null,
    headers: response.headers,
  };
}

/** Waits until `check` returns a value other than undefined/false, polling; fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    // A check that never settles (a query on a connection that died) still ends at the deadline.
    try {
      const value = await withinMs(
        Promise.resolve().then(check),
        Math.max(0, deadline - Date.now()),
        "the check",
      );
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      if (err instanceof DeadlineExceeded) break;
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** The typed client of the API of a stack, with a token. */
export function client(s: Stack, token?: string): HeraldClient {
  return heraldClient({ baseUrl: s.apiUrl, token });
}

/** Creates an organization (business plan unless told) and returns its id and API key. */
export async function createOrganization(
  s: Stack,
  plan: "free" | "pro" | "business" = "business",
): Promise<{ id: string; apiKey: string }> {
  const { data, error } = await client(s, ADMIN_TOKEN).POST("/v1/organizations", {
    body: { name: `Test org ${crypto.randomUUID().slice(0, 6)}`, plan },
  });
  if (!data) throw new Error(`Creating an organization: ${JSON.stringify(error)}`);
  return { id: data.id, apiKey: data.apiKey };
}

/** Creates a webhook and returns the API's answer body (with its signing secret). */
export async function createWebhook(
  s: Stack,
  apiKey: string,
  body: {
    url: string;
    name?: string;
    verifyToken?: string;
    eventTypes?: string[];
    headers?: Record<string, string>;
    rateLimit?: number | null;
    ordering?: "none" | "object";
  },
): Promise<Schemas["CreatedWebhook"]> {
  const { data, error } = await client(s, apiKey).POST("/v1/webhooks", { body });
  if (!data) throw new Error(`Creating a webhook: ${JSON.stringify(error)}`);
  return data;
}

/** A snapshot of every table's rows, to show that a refused request changed nothing. */
export async function snapshot(s: Stack): Promise<string> {
  const db = s.infra.database.db;
  const tables = [
    "organizations",
    "api_keys",
    "webhooks",
    "contacts",
    "events",
    "event_type_counts",
    "payloads",
    "attempts",
  ] as const;
  const parts = await Promise.all(tables.map(async (table) => {
    // Rows in a stable order whatever the table's key.
    const rows = (await db.selectFrom(table).selectAll().execute()).map((r) => JSON.stringify(r));
    return `${table}:${rows.sort().join("\n")}`;
  }));
  return parts.join("\n");
}

/** Stops, after the file's last test, everything it started; no Temporal server may be left. */
export function stopStackAfterTests(): void {
  // Herald's native worker must stop before the test process ends. A hook rather than a test, so
  // the teardown is not counted as a passed test; if it throws, Deno reports the file as failed
  // ("(uncaught error)") and the process exits non-zero.
  Deno.test.afterAll(async () => {
    if (!infra) return;
    const shared = await infra;
    for (const started of stacks.values()) await (await started).herald.stop();
    stacks.clear();
    if (shared.temporal.external) {
      await deleteSchedules(shared.temporal.address);
    } else {
      await shared.temporal.stop();
      const [host, port] = shared.temporal.address.split(":");
      await assertRejects(() => Deno.connect({ hostname: host!, port: Number(port) }));
    }
    await shared.database.close();
    if (shared.databaseUrl && serverUrl) {
      const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
      await admin.unsafe(
        `drop database if exists "${new URL(shared.databaseUrl).pathname.slice(1)}" with (force)`,
      );
      await admin.end();
    }
    infra = undefined;
  });
}

async function assertRejects(fn: () => Promise<unknown>): Promise<void> {
  try {
    const conn = await fn();
    (conn as Deno.Conn).close();
  } catch {
    return;
  }
  throw new Error("The Temporal dev server still accepts connections after stop");
}
