/**
 * A typed client for Herald's API, for TypeScript users: paths, parameters, bodies and answers
 * are checked against the OpenAPI document (types in `./openapi.ts`, generated from it).
 *
 * ```ts
 * import { heraldClient } from "./src/client/mod.ts";
 * const herald = heraldClient({ baseUrl: "http://127.0.0.1:8080", token: "hk_…" });
 * const { data, error } = await herald.POST("/v1/webhooks", { body: { url: "https://…" } });
 * ```
 *
 * Each call answers `{ data, error, response }`: `data` for a 2xx, `error` (the API's error
 * shape) otherwise.
 */
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./openapi.ts";

export type { components, paths };
/** The schemas of the API's bodies: `Schemas["Webhook"]`, `Schemas["Error"]`, … */
export type Schemas = components["schemas"];
/** A client of Herald's API. */
export type HeraldClient = Client<paths>;

/** Options of {@link heraldClient}. */
export interface HeraldClientOptions {
  /** Where the API is, without a trailing slash: `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** An organization's API key (`hk_…`) or the admin token. */
  token?: string;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** The fetch to use (the global one by default); it is given each call as a Request. */
  fetch?: (request: Request) => Promise<Response>;
}

/** A typed client of Herald's API. */
export function heraldClient(options: HeraldClientOptions): HeraldClient {
  return createClient<paths>({
    baseUrl: options.baseUrl,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}
