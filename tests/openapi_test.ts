/** The OpenAPI document is generated from the zod schemas and lists every route. */
import assert from "node:assert/strict";
import { createApp } from "../src/api/app.ts";
import { loadConfig } from "../src/config.ts";
import { test } from "./harness.ts";

test("GET /openapi.json is an OpenAPI 3.1 document with every route of the app", async () => {
  // The document needs no database nor Temporal: it is built from the routes' schemas.
  const app = createApp({
    db: undefined as never,
    temporal: undefined as never,
    config: loadConfig({}),
    adminToken: "hadm_docs_only_token_0123456789",
  });
  const response = await app.request("/openapi.json");
  assert.equal(response.status, 200);
  const doc = await response.json();
  assert.equal(doc.openapi, "3.1.0");
  const documented = new Set(
    Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`)
    ),
  );
  // The API is everything under /v1; the dashboard's pages and the probes are not part of it.
  const routes = app.routes
    .filter((r) => r.method !== "ALL" && r.path.startsWith("/v1/"))
    .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
  assert.ok(routes.length >= 20, `only ${routes.length} routes`);
  for (const route of routes) assert.ok(documented.has(route), `${route} is not documented`);
  assert.equal((await app.request("/docs")).status, 200);
});
