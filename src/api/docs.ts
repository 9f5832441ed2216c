/**
 * `/docs`: Swagger UI over `/openapi.json`, served entirely from Herald. Its script and styles come
 * from the pinned swagger-ui-dist package, so no third-party origin ever runs on the dashboard's
 * origin, and the page's Content-Security-Policy says so.
 */
import { Hono } from "hono";

/** What `/docs` may load: its own script and styles from Herald, nothing from anywhere else. */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // Swagger UI sets element styles at run time.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Herald API</title>
    <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/assets/swagger-ui-bundle.js"></script>
    <script src="/docs/assets/init.js"></script>
  </body>
</html>
`;

// validatorUrl: null, or Swagger UI asks a public validator about the document.
const INIT = `SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: true,
  tryItOutEnabled: false,
});
`;

const ASSETS: Record<string, { file?: string; text?: string; type: string }> = {
  "swagger-ui-bundle.js": { file: "swagger-ui-bundle.js", type: "text/javascript; charset=utf-8" },
  "swagger-ui.css": { file: "swagger-ui.css", type: "text/css; charset=utf-8" },
  "init.js": { text: INIT, type: "text/javascript; charset=utf-8" },
};

const cache = new Map<string, Promise<Uint8Array>>();

/** An asset's bytes, read once from the installed package. */
function assetBytes(name: string): Promise<Uint8Array> {
  const asset = ASSETS[name]!;
  let bytes = cache.get(name);
  if (!bytes) {
    bytes = asset.text !== undefined
      ? Promise.resolve(new TextEncoder().encode(asset.text))
      : Deno.readFile(new URL(import.meta.resolve(`swagger-ui-dist/${asset.file}`)));
    cache.set(name, bytes);
    bytes.catch(() => cache.delete(name));
  }
  return bytes;
}

/** The `/docs` page and its assets. */
export function docsRouter() {
  const app = new Hono();
  app.get("/docs", (c) => c.html(PAGE, 200, { "content-security-policy": DOCS_CSP }));
  app.get("/docs/assets/:name{[a-z-]+\\.(?:js|css)}", async (c) => {
    const name = c.req.param("name");
    const asset = ASSETS[name];
    if (!asset) return c.notFound();
    return c.body(await assetBytes(name) as Uint8Array<ArrayBuffer>, 200, {
      "content-type": asset.type,
      "cache-control": "public, max-age=86400",
      "content-security-policy": DOCS_CSP,
    });
  });
  return app;
}
