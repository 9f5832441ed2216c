/** What the HTTP API is built from: `main.ts` wires real parts, tests wire test ones. */
import type { Client } from "@temporalio/client";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.ts";
import type { Config } from "../config.ts";
import type { RateLimiter } from "./rate_limit.ts";
import type { AuthFailures } from "./auth_failures.ts";
import type { Resolver } from "../net/url_addresses.ts";
import type { UseCaseDeps } from "../usecases/deps.ts";

/** The API's dependencies. */
export interface AppDeps {
  db: Kysely<Database>;
  temporal: Client;
  config: Config;
  /** The admin token for `/v1/organizations`. */
  adminToken: string;
  /** Where the Temporal Web UI is, for links from the dashboard. */
  temporalUiUrl?: string;
  /** Limits requests per API key; built from API_RATE_LIMIT when not given. */
  rateLimiter?: RateLimiter;
  /** Counts failed authentications per address; built from AUTH_FAILURE_LIMIT when not given. */
  authFailures?: AuthFailures;
  /** Fault injection handed in by tests: runs between an event's commit and its starts. */
  beforeStart?: () => Promise<void>;
  /** Starts committed payloads' workflows behind the answer; without it, requests wait for them. */
  starter?: UseCaseDeps["starter"];
  /** How webhook host names resolve when a webhook is saved (tests hand in their own). */
  resolve?: Resolver;
  /** Whether the worker of this process runs (`deno task start`), for /readyz. */
  workerRunning?: () => boolean;
}

/** The use cases' dependencies, from the API's. */
export function useCaseDeps(deps: AppDeps): UseCaseDeps {
  return {
    db: deps.db,
    temporal: deps.temporal,
    taskQueue: deps.config.temporal.taskQueue,
    delivery: deps.config.delivery,
    beforeStart: deps.beforeStart,
    starter: deps.starter,
  };
}

/** Variables that middleware sets on the request context. */
export interface AppVariables {
  organizationId: string;
  isAdmin: boolean;
}

/** The Hono environment of every router. */
export interface AppEnv {
  Variables: AppVariables;
}
