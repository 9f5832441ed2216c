/**
 * The project's layering, as specifications checked against the real module graph.
 *
 * The graph comes from `deno info --json` on every source file, not only `main.ts`, so a module
 * nothing imports yet is held to the same rules as the rest.
 */
import assert from "node:assert/strict";
import ts from "typescript";

/** Packages `src/domain/` may import: pure computation, no I/O. */
const PURE_PACKAGES = ["zod", "ipaddr.js", "standardwebhooks"];
/** Text that means I/O or infrastructure, which `src/domain/` must not contain. */
const DOMAIN_FORBIDDEN = ["Deno.", "fetch(", "Kysely", "@temporalio"];
/** The one module allowed to name workflow ids, task queues and search attributes. */
const NAMES_MODULE = "src/temporal/names.ts";
/** Text that names a workflow id, a task queue or a search attribute. */
const NAME_MARKERS = [
  '"payload:',
  "`payload:",
  '"webhook:',
  "`webhook:",
  "defineSearchAttributeKey(",
  "-lifecycle",
];

const ROOT = new URL("../", import.meta.url);
const SOURCE_DIRS = ["src", "workers", "workflows"];

/** An import: `to` is a project-relative path, or a package name when `project` is false. */
interface Edge {
  to: string;
  project: boolean;
  typeOnly: boolean;
}

/** A project module: its imports and its source with comments blanked out. */
interface Node {
  edges: Edge[];
  code: string;
}

/** The parts of an entry of `deno info --json`'s `modules` used here. */
interface InfoModule {
  specifier: string;
  local?: string;
  error?: string;
  // `code` for a value import, `type` for a type-only one; both when the module has both.
  dependencies?: { specifier: string; code?: Resolved; type?: Resolved; isDynamic?: boolean }[];
}
type Resolved = { specifier?: string };

/** The project's `.ts`/`.tsx` sources under `src/`, `workers/` and `workflows/`, as relative paths. */
async function sourceFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(new URL(`${dir}/`, ROOT))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) files.push(...await sourceFiles(path));
    else if (entry.isFile && /\.tsx?$/.test(entry.name)) files.push(path);
  }
  return files.sort();
}

/** The project-relative path of a `file://` specifier inside the project, else undefined. */
function projectPath(specifier: string): string | undefined {
  if (!specifier.startsWith(ROOT.href) || specifier.includes("/node_modules/")) return undefined;
  return specifier.slice(ROOT.href.length);
}

/** `npm:@scope/pkg@1.0.0/sub` and `npm:/pkg@1.0.0` become the package name; `node:` etc. stay. */
function externalName(specifier: string): string {
  return /^npm:\/?((?:@[^/]+\/)?[^@/]+)/.exec(specifier)?.[1] ?? specifier;
}

/**
 * Whether every static import or re-export of `specifier` in `source` names types only.
 *
 * `deno info` marks `import type` as type-only (only `type` is set) but reports
 * `import { type A, type B }` as a code dependency, although the emit elides it.
 */
function typeOnlyInSource(source: string, specifier: string): boolean {
  const clauses = [
    ...source.matchAll(/^\s*(?:import|export)\s+([^;]*?)\s+from\s+["']([^"']+)["']/gm),
  ]
    .filter((m) => m[2] === specifier).map((m) => m[1]!.trim());
  const typeNames = (c: string) =>
    /^\{[^}]*\}$/.test(c) &&
    c.slice(1, -1).split(",").map((s) => s.trim()).filter(Boolean).every((s) => /^type\s/.test(s));
  return clauses.length > 0 && clauses.every((c) => /^type\s/.test(c) || typeNames(c));
}

/** `source` with comments blanked out (strings kept), so markers are matched as code only. */
function stripComments(source: string): string {
  return source.replace(
    /("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\/\/[^\n]*|\/\*[\s\S]*?\*\//g,
    (match, string) => string ?? match.replace(/[^\n]/g, " "),
  );
}

/**
 * `deno info --json` of one entry. `--frozen` keeps `deno.lock` as it is (`--no-lock` would be
 * worse: it re-resolves npm versions from the registry and relinks node_modules).
 */
async function info(entry: string): Promise<InfoModule[]> {
  const args = ["info", "--json", "--frozen", entry];
  const out = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  assert.ok(out.success, `deno info --json ${entry} failed:\n${text(out.stderr)}`);
  return JSON.parse(text(out.stdout)).modules;
}

let loaded: Promise<Map<string, Node>> | undefined;

/** The graph of the project's own modules, keyed by relative path; built once. */
function graph(): Promise<Map<string, Node>> {
  loaded ??= (async () => {
    const entries = ["main.ts"];
    for (const dir of SOURCE_DIRS) entries.push(...await sourceFiles(dir));
    const modules = new Map<string, Node>();
    const seen = new Set<string>();
    for (const entry of entries) {
      // A module already listed came with all its dependencies: skip its own (slow) run.
      if (seen.has(entry)) continue;
      for (const module of await info(entry)) {
        const path = projectPath(module.specifier);
        if (path === undefined || seen.has(path)) continue;
        seen.add(path);
        // Imports of a missing module still show up as edges of the modules naming it.
        if (module.error || !module.local) {
          console.warn(`unresolved ${path}: ${module.error}`);
          continue;
        }
        const source = await Deno.readTextFile(module.local);
        const edges = (module.dependencies ?? []).map((dep) => {
          const target = dep.code?.specifier ?? dep.type?.specifier ?? dep.specifier;
          const to = projectPath(target);
          const typeOnly = !dep.code || (!dep.isDynamic && typeOnlyInSource(source, dep.specifier));
          return { to: to ?? externalName(target), project: to !== undefined, typeOnly };
        });
        modules.set(path, { edges, code: stripComments(source) });
      }
    }
    return modules;
  })();
  return loaded;
}

/** Fails listing every finding when there are any. */
function assertNone(what: string, found: string[]) {
  assert.ok(found.length === 0, `${what}:\n  ${found.join("\n  ")}`);
}

/** The first import cycle found (its first module repeated at the end), if any. */
function findCycle(modules: Map<string, Node>): string[] | undefined {
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (stack.includes(node)) return [...stack.slice(stack.indexOf(node)), node];
    if (done.has(node)) return undefined;
    stack.push(node);
    for (const edge of modules.get(node)?.edges ?? []) {
      const cycle = edge.project ? visit(edge.to) : undefined;
      if (cycle) return cycle;
    }
    done.add(stack.pop()!);
    return undefined;
  };
  for (const node of [...modules.keys()].sort()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Each line of `code` that contains one of `markers`, as `path:line has marker`. */
function occurrences(path: string, code: string, markers: string[]): string[] {
  return code.split("\n").flatMap((line, i) =>
    markers.filter((m) => line.includes(m)).map((m) => `${path}:${i + 1} has ${m}`)
  );
}

/** Every import of modules under `dir` that `allowed` rejects, as `from -> to`. */
async function importsBreaking(dir: string, allowed: (edge: Edge) => boolean): Promise<string[]> {
  const found: string[] = [];
  for (const [path, { edges }] of await graph()) {
    if (!path.startsWith(dir)) continue;
    for (const edge of edges) {
      if (!allowed(edge)) found.push(`${path} -> ${edge.to}${edge.typeOnly ? " (type-only)" : ""}`);
    }
  }
  return found.sort();
}

Deno.test("the project's modules import each other without cycles", async () => {
  // Type-only imports count too: they still tie the modules' designs together.
  const cycle = findCycle(await graph());
  assert.ok(cycle === undefined, `import cycle: ${cycle?.join(" -> ")}`);
});

Deno.test("src/domain does no I/O: it imports only src/domain and pure packages", async () => {
  const found = await importsBreaking(
    "src/domain/",
    (edge) => edge.project ? edge.to.startsWith("src/domain/") : PURE_PACKAGES.includes(edge.to),
  );
  for (const [path, { code }] of await graph()) {
    if (!path.startsWith("src/domain/")) continue;
    found.push(...occurrences(path, code, DOMAIN_FORBIDDEN));
  }
  assertNone("src/domain reaches beyond itself and pure packages", found);
});

Deno.test("workflows/ imports only @temporalio/workflow, its own files, the names and types", async () => {
  // The workflow sandbox bundles whatever is imported for its value; types vanish from the bundle.
  // The names module is pure (search attribute keys) and bundled with the workflows.
  const found = await importsBreaking(
    "workflows/",
    (edge) =>
      edge.typeOnly || edge.to === NAMES_MODULE ||
      (edge.project ? edge.to.startsWith("workflows/") : edge.to === "@temporalio/workflow"),
  );
  assertNone("workflows/ imports values from outside the workflow sandbox", found);
});

Deno.test("only the composition root imports workers/", async () => {
  const found =
    (await importsBreaking("src/", (edge) => !edge.project || !edge.to.startsWith("workers/")))
      .filter((line) => !line.startsWith("src/herald.ts "));
  assertNone("modules under src/ other than src/herald.ts import workers/", found);
});

Deno.test("one module names workflow ids, task queues and search attributes", async () => {
  const found: string[] = [];
  for (const dir of SOURCE_DIRS) {
    for (const path of await sourceFiles(dir)) {
      if (path === NAMES_MODULE) continue;
      const code = stripComments(await Deno.readTextFile(new URL(path, ROOT)));
      found.push(...occurrences(path, code, NAME_MARKERS));
    }
  }
  const exists = await Deno.stat(new URL(NAMES_MODULE, ROOT)).then(() => true, () => false);
  if (!exists) found.unshift(`${NAMES_MODULE} does not exist`);
  assertNone(`names are spelled outside ${NAMES_MODULE}`, found);
});

/** Rules with one home in src/domain: restating them elsewhere is how they drift apart. */
const RULE_MARKERS = [
  '"business"', // the plan with webhooks: WEBHOOK_PLAN, hasWebhooks()
  "=== 200", // only a 200 delivers: isDelivered(), DELIVERED_STATUS
  "!== 200",
  "status = 200",
  'signal: "', // signal, query and update names come from src/temporal/names.ts
  'Signal<[WebhookRequest]>("',
  'Query<WebhookState>("',
  "`req_", // a failed run's deactivation request id: deactivationRequestId()
];

Deno.test("rules are named once, in src/domain: no plan, delivered status or signal name restated", async () => {
  const found: string[] = [];
  for (const dir of SOURCE_DIRS) {
    for (const path of await sourceFiles(dir)) {
      if (path.startsWith("src/domain/") || path === NAMES_MODULE) continue;
      if (path === "src/client/openapi.ts") continue; // generated from the OpenAPI document
      const code = stripComments(await Deno.readTextFile(new URL(path, ROOT)));
      found.push(...occurrences(path, code, RULE_MARKERS));
    }
  }
  assertNone("rules restated outside src/domain", found);
});

Deno.test("packages are reached through their public entry points, never an internal lib/ path", async () => {
  const found: string[] = [];
  for (const [path, { edges }] of await graph()) {
    for (const edge of edges) {
      if (!edge.project && /^@temporalio\/[^/]+\/lib\//.test(edge.to)) {
        found.push(`${path} -> ${edge.to}`);
      }
    }
  }
  assertNone("imports of a package's internals", found);
});

/** A function's length in lines, where it starts, and whether it is a route's handler. */
interface FunctionSpan {
  where: string;
  name: string;
  lines: number;
  handler: boolean;
  /** Lines of its body's statements that register no route (`app.get(…)`, `replayRoute(…)`, …). */
  setupLines: number;
}

/** Whether a statement registers routes or middleware: `app.<method>(…)` or `<name>Route(…)`. */
function registers(statement: ts.Statement): boolean {
  if (!ts.isExpressionStatement(statement) || !ts.isCallExpression(statement.expression)) {
    return false;
  }
  const callee = statement.expression.expression;
  if (ts.isIdentifier(callee)) return callee.text.endsWith("Route");
  return ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) &&
    callee.expression.text === "app" &&
    /^(openapi|get|post|put|patch|delete|all|use|on|route)$/.test(callee.name.text);
}

/** Every function of a source file, with its length, by the TypeScript parser. */
function functionSpans(path: string, code: string): FunctionSpan[] {
  const file = ts.createSourceFile(
    path,
    code,
    ts.ScriptTarget.Latest,
    true,
    path.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
  );
  const spans: FunctionSpan[] = [];
  const visit = (node: ts.Node) => {
    if (
      ts.isFunctionDeclaration(node) || ts.isArrowFunction(node) ||
      ts.isFunctionExpression(node) || ts.isMethodDeclaration(node)
    ) {
      const first = file.getLineAndCharacterOfPosition(node.getStart()).line;
      const last = file.getLineAndCharacterOfPosition(node.getEnd()).line;
      const call = node.parent;
      // A handler: an argument after the first of app.openapi(…), app.get(…), app.post(…), …
      const handler = ts.isCallExpression(call) &&
        call.arguments.indexOf(node as ts.Expression) > 0 &&
        ts.isPropertyAccessExpression(call.expression) &&
        /^(openapi|get|post|put|patch|delete|all)$/.test(call.expression.name.text);
      const named = (node as ts.FunctionDeclaration).name?.getText(file) ??
        (ts.isVariableDeclaration(node.parent) ? node.parent.name.getText(file) : "(anonymous)");
      const body = (node as ts.FunctionDeclaration).body;
      const statements = body && ts.isBlock(body) ? body.statements : [];
      const setupLines = statements.filter((statement) => !registers(statement))
        .map((statement) =>
          file.getLineAndCharacterOfPosition(statement.getEnd()).line -
          file.getLineAndCharacterOfPosition(statement.getStart()).line + 1
        ).reduce((a, b) => a + b, 0);
      spans.push({
        where: `${path}:${first + 1}`,
        name: named,
        lines: last - first + 1,
        handler,
        setupLines,
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return spans;
}

/** What a router factory may hold besides its routes before it is a function like any other. */
const ROUTER_SETUP_LINES = 20;

Deno.test("no route handler over 40 lines, no other function over 80 (router factories that only register routes aside)", async () => {
  const found: string[] = [];
  for (const dir of ["src", "workers"]) {
    for (const path of await sourceFiles(dir)) {
      if (path === "src/client/openapi.ts") continue; // generated
      const code = await Deno.readTextFile(new URL(path, ROOT));
      for (const span of functionSpans(path, code)) {
        if (span.handler && span.lines > 40) {
          found.push(`${span.where} a route handler of ${span.lines} lines`);
        } else if (!span.handler && span.lines > 80) {
          const onlyRoutes = span.name.endsWith("Router") && span.setupLines <= ROUTER_SETUP_LINES;
          if (!onlyRoutes) {
            found.push(
              `${span.where} ${span.name} is ${span.lines} lines (${span.setupLines} not routes)`,
            );
          }
        }
      }
    }
  }
  assertNone("functions too long to read at once", found);
});

Deno.test("the worker's activities stay adapters: workers/activities.ts under 150 lines, no SQL", async () => {
  const code = await Deno.readTextFile(new URL("workers/activities.ts", ROOT));
  const lines = code.split("\n").length;
  const found = [
    ...(lines >= 150 ? [`workers/activities.ts is ${lines} lines`] : []),
    ...occurrences("workers/activities.ts", stripComments(code), [
      "sql`",
      ".selectFrom(",
      ".updateTable(",
    ]),
  ];
  assertNone("use case code in the activities", found);
});
