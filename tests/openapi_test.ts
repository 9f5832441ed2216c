/** The OpenAPI document is generated from the zod schemas, valid, and lists every route. */
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { createApp, openApiDocument } from "../src/api/app.ts";
import { loadConfig } from "../src/config.ts";
import { test } from "./harness.ts";
import { setLogLevel } from "../src/log.ts";

setLogLevel("error");

test("GET /openapi.json validates against the OpenAPI 3.1 schema", async () => {
  const doc = await openApiDocument();
  assert.equal(doc.openapi, "3.1.0");
  const validator = new Validator();
  const result = await validator.validate(structuredClone(doc));
  assert.equal(validator.version, "3.1");
  assert.deepEqual(result.errors ?? [], [], JSON.stringify(result.errors, null, 2));
  assert.equal(result.valid, true);
  // The validator is not a rubber stamp: a document with a broken operation fails.
  const broken = structuredClone(doc) as { paths: Record<string, Record<string, unknown>> };
  broken.paths["/v1/webhooks"]!.post = { responses: "none" };
  assert.equal((await new Validator().validate(broken)).valid, false);
});

test("GET /openapi.json documents every route of the app, with examples", async () => {
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
  assert.equal(
    documented.size,
    new Set(routes).size,
    "no documented route is missing from the app",
  );
  const examples = JSON.stringify(doc).match(/"example"/g)?.length ?? 0;
  assert.ok(examples >= 10, `only ${examples} examples`);
  const docs = await app.request("/docs");
  assert.equal(docs.status, 200);
  // Every script and stylesheet of the page is Herald's own: no third-party origin.
  const page = await docs.text();
  const sources = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(sources.length >= 3, page);
  for (const source of sources) {
    assert.match(source, /^\/docs\/assets\//, `${source} is not served by Herald`);
    const asset = await app.request(source);
    assert.equal(asset.status, 200, source);
    assert.ok((await asset.arrayBuffer()).byteLength > 0, source);
  }
  assert.match(docs.headers.get("content-security-policy") ?? "", /default-src 'none'/);
});

test("every operation of /openapi.json has its own camelCase operationId, so generated clients read well", async () => {
  const doc = await openApiDocument() as {
    paths: Record<string, Record<string, { operationId?: string }>>;
  };
  const ids = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => {
      const id = op.operationId;
      assert.ok(id, `${method.toUpperCase()} ${path} has no operationId`);
      assert.match(id, /^[a-z]+(?:[A-Z][a-z]*)+$/, `${method.toUpperCase()} ${path}: ${id}`);
      return id;
    })
  );
  assert.equal(new Set(ids).size, ids.length, `repeated operationIds: ${ids.sort().join(", ")}`);
  // The names a client's user calls: a verb and what it acts on.
  for (const id of ["createWebhook", "activateWebhook", "listWebhookPayloads", "publishEvent"]) {
    assert.ok(ids.includes(id), `no ${id}`);
  }
});
