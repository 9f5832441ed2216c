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
    <link rel="stylesheet" href="/docs/assets/herald-docs.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/assets/swagger-ui-bundle.js"></script>
    <script src="/docs/assets/init.js"></script>
  </body>
</html>
`;

// validatorUrl: null, or Swagger UI asks a public validator about the document. No deep links:
// Swagger UI puts each one, a link, inside the button that opens its operation.
const INIT =
  `// Swagger UI's own dark styles apply under html.dark-mode: follow the reader's colour scheme.
const dark = matchMedia("(prefers-color-scheme: dark)");
const follow = () => document.documentElement.classList.toggle("dark-mode", dark.matches);
follow();
dark.addEventListener("change", follow);
SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: false,
  // Its highlighting colours fall short of AA contrast on the dark code background.
  syntaxHighlight: { activated: false },
  tryItOutEnabled: false,
});
`;

/**
 * Herald's corrections to Swagger UI's colours, which fall short of WCAG AA contrast (4.5:1) for
 * the method badges, version stamps, links and schema buttons, and a visible focus.
 */
const STYLES = `
.swagger-ui .opblock.opblock-post .opblock-summary-method { background: #0f7045; }
.swagger-ui .opblock.opblock-get .opblock-summary-method { background: #1c5a9e; }
.swagger-ui .opblock.opblock-patch .opblock-summary-method { background: #0c6b5c; }
.swagger-ui .opblock.opblock-put .opblock-summary-method { background: #8a4b00; }
.swagger-ui .opblock.opblock-delete .opblock-summary-method { background: #b0201b; }
.swagger-ui .info .title small { background: #4b5563; }
.swagger-ui .info .title small.version-stamp { background: #3f6212; }
.swagger-ui .info a, .swagger-ui .info .url { color: #1c5a9e; }
.swagger-ui .btn.authorize { color: #0f7045; border-color: #0f7045; }
.swagger-ui .btn.authorize svg { fill: #0f7045; }
.swagger-ui .json-schema-2020-12-expand-deep-button { color: #374151; }
.swagger-ui .json-schema-2020-12__constraint--string { background-color: #8a5a00; }
.swagger-ui .parameter__in, .swagger-ui .parameter__type { color: #4b5563; }
/* Examples grow rather than scroll: a scrolling box that cannot take focus cannot be read by keyboard. */
.swagger-ui .opblock-body pre.microlight, .swagger-ui .highlight-code > .microlight {
  white-space: pre-wrap; word-break: break-word; overflow: visible; max-height: none;
}
.swagger-ui :focus-visible { outline: 3px solid #1c5a9e; outline-offset: 2px; }
html.dark-mode .swagger-ui .info a, html.dark-mode .swagger-ui .info .url { color: #8ab4f8; }
html.dark-mode .swagger-ui :focus-visible { outline-color: #8ab4f8; }
`;

const ASSETS: Record<string, { file?: string; text?: string; type: string }> = {
  "swagger-ui-bundle.js": { file: "swagger-ui-bundle.js", type: "text/javascript; charset=utf-8" },
  "swagger-ui.css": { file: "swagger-ui.css", type: "text/css; charset=utf-8" },
  "init.js": { text: INIT, type: "text/javascript; charset=utf-8" },
  "herald-docs.css": { text: STYLES, type: "text/css; charset=utf-8" },
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
