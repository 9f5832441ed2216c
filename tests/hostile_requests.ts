/** The table of malformed and hostile requests the security suite sends: each must be refused. */

/** Whose token a request carries. */
export type Who = "key" | "admin" | "none" | "bad" | "otherKey";

/** One request that must be refused with `status` and `code`. */
export interface HostileCase {
  name: string;
  method: string;
  /** `{webhook}` and `{contact}` and `{org}` stand for the fixture's ids. */
  path: string;
  who: Who;
  body?: unknown;
  raw?: string | Uint8Array<ArrayBuffer>;
  headers?: Record<string, string>;
  status: number;
  code: string;
}

const deep = (levels: number): Record<string, unknown> => {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < levels; i++) value = { nested: value };
  return value;
};
const manyFields = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`f${i}`, i]));
const SQL = "'; DROP TABLE webhooks; --";

/** Webhook URLs that must be refused (with ALLOW_INSECURE_URLS and ALLOW_PRIVATE_NETWORKS off). */
export const FORBIDDEN_URLS: Array<[string, string]> = [
  ["plain http", "http://example.com/hooks"],
  ["loopback", "https://127.0.0.1/hooks"],
  ["loopback with port", "https://127.0.0.1:8443/hooks"],
  ["loopback elsewhere in 127/8", "https://127.8.9.10/"],
  ["IPv6 loopback", "https://[::1]/hooks"],
  ["RFC 1918 10/8", "https://10.0.0.1/"],
  ["RFC 1918 172.16/12", "https://172.16.5.4/"],
  ["RFC 1918 192.168/16", "https://192.168.1.1/"],
  ["cloud metadata", "https://169.254.169.254/latest/meta-data/"],
  ["link-local", "https://169.254.1.1/"],
  ["CGNAT", "https://100.64.0.1/"],
  ["unspecified", "https://0.0.0.0/"],
  ["multicast", "https://224.0.0.1/"],
  ["broadcast", "https://255.255.255.255/"],
  ["decimal loopback", "https://2130706433/"],
  ["hex loopback", "https://0x7f000001/"],
  ["octal loopback", "https://0177.0.0.1/"],
  ["short loopback", "https://127.1/"],
  ["IPv4-mapped IPv6 loopback", "https://[::ffff:127.0.0.1]/"],
  ["IPv4-mapped IPv6 metadata", "https://[::ffff:169.254.169.254]/"],
  ["IPv6 unique local", "https://[fc00::1]/"],
  ["IPv6 unique local fd", "https://[fd12:3456::1]/"],
  ["IPv6 link-local", "https://[fe80::1]/"],
  ["IPv6 unspecified", "https://[::]/"],
  ["IPv6 multicast", "https://[ff02::1]/"],
  ["NAT64 of loopback", "https://[64:ff9b::7f00:1]/"],
  ["localhost", "https://localhost/hooks"],
  ["subdomain of localhost", "https://app.localhost/"],
  ["localhost with trailing dot", "https://localhost./"],
  ["ftp", "ftp://example.com/"],
  ["javascript", "javascript:alert(1)"],
  ["file", "file:///etc/passwd"],
  ["data", "data:text/plain,hi"],
  ["no scheme", "example.com/hooks"],
  ["not a URL", "not a url"],
  ["empty", ""],
  ["scheme only", "https://"],
  ["credentials", "https://user:pass@example.com/"],
  ["too long", `https://example.com/${"a".repeat(2050)}`],
  ["SQL in the host", `https://exa${SQL}mple.com/`],
];

function bodyCases(
  prefix: string,
  method: string,
  path: string,
  bodies: Array<[string, unknown]>,
): HostileCase[] {
  return bodies.map(([name, body]) => ({
    name: `${prefix}: ${name}`,
    method,
    path,
    who: "key" as const,
    body,
    status: 422,
    code: "validation_failed",
  }));
}

/** Requests every JSON-taking endpoint must refuse the same way. */
function transportCases(method: string, path: string, who: Who): HostileCase[] {
  const p = `${method} ${path.replace(/\{(\w+)\}/g, ":$1")}`;
  return [
    {
      name: `${p}: malformed JSON`,
      method,
      path,
      who,
      raw: '{"a":',
      status: 400,
      code: "malformed_json",
    },
    {
      name: `${p}: trailing comma`,
      method,
      path,
      who,
      raw: '{"a": 1,}',
      status: 400,
      code: "malformed_json",
    },
    { name: `${p}: empty body`, method, path, who, raw: "", status: 400, code: "malformed_json" },
    {
      name: `${p}: invalid UTF-8`,
      method,
      path,
      who,
      raw: new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      status: 400,
      code: "malformed_json",
    },
    {
      name: `${p}: text/plain`,
      method,
      path,
      who,
      raw: "{}",
      headers: { "content-type": "text/plain" },
      status: 415,
      code: "unsupported_media_type",
    },
    {
      name: `${p}: form encoded`,
      method,
      path,
      who,
      raw: "a=1",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      status: 415,
      code: "unsupported_media_type",
    },
    {
      name: `${p}: over 1 MiB`,
      method,
      path,
      who,
      raw: JSON.stringify({ pad: "x".repeat(1024 * 1024) }),
      status: 413,
      code: "payload_too_large",
    },
    {
      name: `${p}: JSON array`,
      method,
      path,
      who,
      body: [1, 2],
      status: 422,
      code: "validation_failed",
    },
    {
      name: `${p}: JSON string`,
      method,
      path,
      who,
      body: "hello",
      status: 422,
      code: "validation_failed",
    },
    {
      name: `${p}: JSON null`,
      method,
      path,
      who,
      body: null,
      status: 422,
      code: "validation_failed",
    },
    {
      name: `${p}: no token`,
      method,
      path,
      who: "none",
      body: {},
      status: 401,
      code: "unauthorized",
    },
    {
      name: `${p}: wrong token`,
      method,
      path,
      who: "bad",
      body: {},
      status: 401,
      code: "unauthorized",
    },
  ];
}

/** Text no request may carry: NUL, lone surrogates (which JSON escapes can spell). */
const BAD_TEXT: Array<[string, (ok: string) => string]> = [
  ["NUL", (ok) => `${ok}\u0000`],
  ["lone high surrogate", (ok) => `${ok}\uD800`],
  ["lone low surrogate", (ok) => `\uDC00${ok}`],
];

/** Each string field of each JSON endpoint, as a body with `value` in that field. */
const STRING_FIELDS: Array<[string, string, (value: string) => unknown]> = [
  ["POST", "/v1/organizations", (v) => ({ name: v, plan: "business" })],
  ["PATCH", "/v1/organizations/{org}", (v) => ({ name: v })],
  ["POST", "/v1/webhooks", (v) => ({ url: `https://example.com/${v}` })],
  ["POST", "/v1/webhooks", (v) => ({ url: "https://example.com/h", name: v })],
  ["POST", "/v1/webhooks", (v) => ({ url: "https://example.com/h", verifyToken: v })],
  ["PATCH", "/v1/webhooks/{webhook}", (v) => ({ name: v })],
  ["PATCH", "/v1/webhooks/{webhook}", (v) => ({ verifyToken: v })],
  ["POST", "/v1/webhooks", (v) => ({ url: "https://example.com/h", eventTypes: [`a.${v}`] })],
  ["POST", "/v1/webhooks", (v) => ({ url: "https://example.com/h", headers: { "x-a": v } })],
  ["PATCH", "/v1/webhooks/{webhook}", (v) => ({ headers: { [`x-${v}`]: "1" } })],
  ["POST", "/v1/contacts", (v) => ({ fields: { email: v } })],
  ["POST", "/v1/contacts", (v) => ({ fields: { [v]: "x" } })],
  ["PATCH", "/v1/contacts/{contact}", (v) => ({ fields: { email: v } })],
  ["POST", "/v1/events", (v) => ({ event: "a.b", object: "o", objectId: v, data: {} })],
  ["POST", "/v1/events", (v) => ({ event: "a.b", object: "o", data: { note: v } })],
  ["POST", "/v1/events", (v) => ({ event: "a.b", object: "o", data: { [v]: 1 } })],
  ["POST", "/v1/events", (v) => ({ event: "a.b", object: "o", data: { list: [{ deep: v }] } })],
];

/** Path parameters and query values no request may carry. */
const BAD_PATHS: Array<[string, string, string, number, string]> = [
  ["NUL in an id", "GET", "/v1/webhooks/wh_%00", 422, "validation_failed"],
  ["line feed in an id", "GET", "/v1/contacts/ct_%0A", 422, "validation_failed"],
  ["encoded surrogate in an id", "GET", "/v1/payloads/pl_%ED%A0%80", 400, "bad_request"],
  ["bad percent-encoding in an id", "DELETE", "/v1/webhooks/wh_%zz", 400, "bad_request"],
  ["a path in an id", "GET", "/v1/webhooks/..%2Fcontacts", 422, "validation_failed"],
  ["a space in an id", "POST", "/v1/payloads/pl_%20x/resend", 422, "validation_failed"],
  ["NUL in a cursor", "GET", "/v1/webhooks?cursor=%00", 422, "validation_failed"],
  [
    "escape character in a cursor",
    "GET",
    "/v1/webhooks?cursor=%1B%5B31m",
    422,
    "validation_failed",
  ],
  [
    "NUL in a status filter",
    "GET",
    "/v1/webhooks/{webhook}/payloads?status=%00",
    422,
    "validation_failed",
  ],
  [
    "control character in a key id",
    "DELETE",
    "/v1/organizations/{org}/api-keys/k%07",
    422,
    "validation_failed",
  ],
];

/** Every case of the suite. */
export function hostileCases(): HostileCase[] {
  const cases: HostileCase[] = [];
  for (const [method, path, body] of STRING_FIELDS) {
    for (const [kind, spoil] of BAD_TEXT) {
      const sample = JSON.stringify(body("FIELD"));
      cases.push({
        name: `${method} ${path.replace(/\{(\w+)\}/g, ":$1")}: ${kind} in ${sample}`,
        method,
        path,
        who: path.startsWith("/v1/organizations") ? "admin" : "key",
        body: body(spoil("x")),
        status: 422,
        code: "validation_failed",
      });
    }
  }
  for (const [name, method, path, status, code] of BAD_PATHS) {
    cases.push({
      name: `${method} ${path}: ${name}`,
      method,
      path,
      who: path.includes("/organizations/") ? "admin" : "key",
      status,
      code,
    });
  }
  for (const [method, path] of [["POST", "/v1/events"], ["POST", "/v1/contacts"]] as const) {
    cases.push({
      name: `${method} ${path}: JSON nested 100 000 levels deep`,
      method,
      path,
      who: "key",
      raw: `${"[".repeat(100_000)}${"]".repeat(100_000)}`,
      status: 400,
      code: "json_too_deep",
    });
  }
  for (
    const url of [
      "https://example.com/a\r\nX-Injected: 1",
      "https://exa\tmple.com/",
      "https://example.com/ a",
    ]
  ) {
    cases.push({
      name: `POST /v1/webhooks: control characters or spaces in ${JSON.stringify(url)}`,
      method: "POST",
      path: "/v1/webhooks",
      who: "key",
      body: { url },
      status: 422,
      code: "invalid_url",
    });
  }
  const json = [
    ["POST", "/v1/organizations", "admin"],
    ["PATCH", "/v1/organizations/{org}", "admin"],
    ["POST", "/v1/webhooks", "key"],
    ["PATCH", "/v1/webhooks/{webhook}", "key"],
    ["POST", "/v1/contacts", "key"],
    ["PATCH", "/v1/contacts/{contact}", "key"],
    ["POST", "/v1/events", "key"],
    ["POST", "/v1/webhooks/{webhook}/recover", "key"],
  ] as const;
  for (const [method, path, who] of json) cases.push(...transportCases(method, path, who));

  for (const [name, url] of FORBIDDEN_URLS) {
    cases.push({
      name: `POST /v1/webhooks: ${name} URL`,
      method: "POST",
      path: "/v1/webhooks",
      who: "key",
      body: { url },
      status: 422,
      code: url.length > 2048 ? "validation_failed" : "invalid_url",
    });
  }
  for (const [name, url] of FORBIDDEN_URLS.slice(0, 12)) {
    cases.push({
      name: `PATCH /v1/webhooks/:id: ${name} URL`,
      method: "PATCH",
      path: "/v1/webhooks/{webhook}",
      who: "key",
      body: { url },
      status: 422,
      code: "invalid_url",
    });
  }

  cases.push(
    ...bodyCases("POST /v1/organizations", "POST", "/v1/organizations", [
      ["missing name", { plan: "business" }],
      ["missing plan", { name: "Acme" }],
      ["name a number", { name: 42, plan: "free" }],
      ["name an object", { name: { $ne: null }, plan: "free" }],
      ["name empty", { name: "", plan: "free" }],
      ["name blank", { name: "   ", plan: "free" }],
      ["name too long", { name: "n".repeat(201), plan: "free" }],
      ["unknown plan", { name: "Acme", plan: "enterprise" }],
      ["plan SQL", { name: "Acme", plan: SQL }],
      ["plan a number", { name: "Acme", plan: 1 }],
      ["extra property", { name: "Acme", plan: "free", admin: true }],
      [
        "prototype pollution",
        JSON.parse('{"name": "Acme", "plan": "free", "__proto__": {"x": 1}}'),
      ],
    ]).map((c) => ({ ...c, who: "admin" as const })),
  );
  cases.push(
    ...bodyCases("PATCH /v1/organizations/:id", "PATCH", "/v1/organizations/{org}", [
      ["unknown plan", { plan: "gold" }],
      ["plan null", { plan: null }],
      ["extra property", { plan: "pro", id: "org_x" }],
      ["name too long", { name: "n".repeat(201) }],
    ]).map((c) => ({ ...c, who: "admin" as const })),
  );

  cases.push(...bodyCases("POST /v1/webhooks", "POST", "/v1/webhooks", [
    ["missing url", { name: "x" }],
    ["url a number", { url: 443 }],
    ["url an array", { url: ["https://example.com"] }],
    ["url null", { url: null }],
    ["name empty", { url: "https://example.com/h", name: "" }],
    ["name too long", { url: "https://example.com/h", name: "n".repeat(201) }],
    ["verifyToken empty", { url: "https://example.com/h", verifyToken: "" }],
    ["verifyToken too long", { url: "https://example.com/h", verifyToken: "t".repeat(501) }],
    ["verifyToken a number", { url: "https://example.com/h", verifyToken: 1234 }],
    ["status given", { url: "https://example.com/h", status: "active" }],
    ["signingSecret given", { url: "https://example.com/h", signingSecret: "whsec_AAAA" }],
    ["eventTypes empty", { url: "https://example.com/h", eventTypes: [] }],
    ["eventTypes a string", { url: "https://example.com/h", eventTypes: "contact.*" }],
    ["eventTypes null", { url: "https://example.com/h", eventTypes: null }],
    ["eventTypes repeated", { url: "https://example.com/h", eventTypes: ["a.b", "a.b"] }],
    ["eventTypes * with others", { url: "https://example.com/h", eventTypes: ["*", "a.b"] }],
    ["eventTypes inner wildcard", { url: "https://example.com/h", eventTypes: ["a.*.b"] }],
    ["eventTypes SQL", { url: "https://example.com/h", eventTypes: [SQL] }],
    ["eventTypes webhook.test", { url: "https://example.com/h", eventTypes: ["webhook.test"] }],
    ["eventTypes too many", {
      url: "https://example.com/h",
      eventTypes: Array.from({ length: 51 }, (_, i) => `e${i}`),
    }],
    ["headers an array", { url: "https://example.com/h", headers: [["x-a", "1"]] }],
    ["headers null", { url: "https://example.com/h", headers: null }],
    ["header value a number", { url: "https://example.com/h", headers: { "x-a": 1 } }],
    ["header Host", { url: "https://example.com/h", headers: { Host: "evil.example" } }],
    ["header webhook-signature", {
      url: "https://example.com/h",
      headers: { "webhook-signature": "v1,forged" },
    }],
    ["header content-length", { url: "https://example.com/h", headers: { "content-length": "0" } }],
    ["header proxy-authorization", {
      url: "https://example.com/h",
      headers: { "Proxy-Authorization": "Basic x" },
    }],
    ["header name with a colon", { url: "https://example.com/h", headers: { "x:a": "1" } }],
    ["header name SQL", { url: "https://example.com/h", headers: { [SQL]: "1" } }],
    ["header value with CRLF", {
      url: "https://example.com/h",
      headers: { "x-a": "1\r\nX-Injected: 1" },
    }],
    ["header value non-ASCII", { url: "https://example.com/h", headers: { "x-a": "caf\u00e9" } }],
    ["header value too long", {
      url: "https://example.com/h",
      headers: { "x-a": "v".repeat(1025) },
    }],
    ["header repeated in another case", {
      url: "https://example.com/h",
      headers: { "X-A": "1", "x-a": "2" },
    }],
    ["too many headers", {
      url: "https://example.com/h",
      headers: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`x-${i}`, "v"])),
    }],
  ]));
  cases.push(...bodyCases("PATCH /v1/webhooks/:id", "PATCH", "/v1/webhooks/{webhook}", [
    ["status", { status: "active" }],
    ["url a number", { url: 1 }],
    ["name empty", { name: "" }],
    ["verifyToken too long", { verifyToken: "t".repeat(501) }],
    ["eventTypes empty", { eventTypes: [] }],
    ["eventTypes uppercase", { eventTypes: ["Contact.Created"] }],
    ["eventTypes bare prefix wildcard", { eventTypes: ["contact*"] }],
    ["headers null", { headers: null }],
    ["header user-agent", { headers: { "User-Agent": "spoof" } }],
    ["header transfer-encoding", { headers: { "Transfer-Encoding": "chunked" } }],
    ["header value with LF", { headers: { "x-a": "a\nb" } }],
    ["header value masked", { headers: { "x-a": "[redacted]" } }],
  ]));

  cases.push(...bodyCases("POST /v1/contacts", "POST", "/v1/contacts", [
    ["missing fields", {}],
    ["fields an array", { fields: [1] }],
    ["fields a string", { fields: "email=x" }],
    ["fields null", { fields: null }],
    ["field an object", { fields: { email: { $gt: "" } } }],
    ["field an array", { fields: { tags: ["a"] } }],
    ["field null", { fields: { email: null } }],
    ["field name empty", { fields: { "": "x" } }],
    ["field name with a space", { fields: { "first name": "x" } }],
    ["field name SQL", { fields: { [SQL]: "x" } }],
    ["field name too long", { fields: { ["f".repeat(101)]: "x" } }],
    ["too many fields", { fields: manyFields }],
    ["field value too long", { fields: { bio: "b".repeat(10_001) } }],
    ["deep nesting", { fields: deep(20) }],
    ["extra property", { fields: { a: 1 }, id: "ct_x" }],
  ]));
  cases.push(...bodyCases("PATCH /v1/contacts/:id", "PATCH", "/v1/contacts/{contact}", [
    ["fields an array", { fields: [] }],
    ["field an object", { fields: { a: { b: 1 } } }],
    ["too many fields", { fields: manyFields }],
    ["extra property", { fields: {}, createdAt: 0 }],
  ]));

  cases.push(...bodyCases("POST /v1/events", "POST", "/v1/events", [
    ["missing event", { object: "o", data: {} }],
    ["missing object", { event: "a.b", data: {} }],
    ["missing data", { event: "a.b", object: "o" }],
    ["event uppercase", { event: "Order.Paid", object: "o", data: {} }],
    ["event with a space", { event: "order paid", object: "o", data: {} }],
    ["event trailing dot", { event: "order.", object: "o", data: {} }],
    ["event leading dot", { event: ".order", object: "o", data: {} }],
    ["event double dot", { event: "order..paid", object: "o", data: {} }],
    ["event empty", { event: "", object: "o", data: {} }],
    ["event too long", { event: "e".repeat(101), object: "o", data: {} }],
    ["event SQL", { event: `order.paid${SQL}`, object: "o", data: {} }],
    ["event JSON injection", { event: 'a","admin":true,"x":"', object: "o", data: {} }],
    ["event a number", { event: 7, object: "o", data: {} }],
    ["object uppercase", { event: "a.b", object: "Order", data: {} }],
    ["object too long", { event: "a.b", object: "o".repeat(51), data: {} }],
    ["objectId empty", { event: "a.b", object: "o", objectId: "", data: {} }],
    ["objectId too long", { event: "a.b", object: "o", objectId: "i".repeat(201), data: {} }],
    ["data an array", { event: "a.b", object: "o", data: [1] }],
    ["data a string", { event: "a.b", object: "o", data: "x" }],
    ["data null", { event: "a.b", object: "o", data: null }],
    ["data too deep", { event: "a.b", object: "o", data: deep(11) }],
    ["extra property", { event: "a.b", object: "o", data: {}, webhookId: "wh_x" }],
    ["event webhook.test (test sends only)", { event: "webhook.test", object: "o", data: {} }],
  ]));
  cases.push({
    name: "POST /v1/events: Idempotency-Key too long",
    method: "POST",
    path: "/v1/events",
    who: "key",
    body: { event: "a.b", object: "o", data: {} },
    headers: { "idempotency-key": "k".repeat(256) },
    status: 422,
    code: "validation_failed",
  });
  cases.push(
    ...bodyCases("POST /v1/webhooks/:id/recover", "POST", "/v1/webhooks/{webhook}/recover", [
      ["missing since", {}],
      ["since negative", { since: -1 }],
      ["since a string", { since: "yesterday" }],
      ["since a float", { since: 1.5 }],
      ["extra property", { since: 0, all: true }],
    ]),
  );

  const queries: Array<[string, string]> = [
    ["limit 0", "limit=0"],
    ["limit 101", "limit=101"],
    ["limit negative", "limit=-5"],
    ["limit text", "limit=ten"],
    ["limit fraction", "limit=1.5"],
    ["unknown status", "status=broken"],
    ["unknown parameter", "sort=asc"],
    ["SQL in status", `status=${encodeURIComponent(SQL)}`],
  ];
  for (const [name, query] of queries) {
    for (const path of ["/v1/webhooks", "/v1/webhooks/{webhook}/payloads", "/v1/event-types"]) {
      if (path === "/v1/event-types" && query.startsWith("status")) continue;
      cases.push({
        name: `GET ${path.replace("{webhook}", ":id")}: ${name}`,
        method: "GET",
        path: `${path}?${query}`,
        who: "key",
        status: 422,
        code: "validation_failed",
      });
    }
  }
  const cursors: Array<[string, string]> = [
    ["garbage cursor", "zzz"],
    ["SQL cursor", encodeURIComponent(SQL)],
    ["JSON cursor", encodeURIComponent('{"id":1}')],
    ["forged cursor", btoa(JSON.stringify({ created_at: 1 }))],
    ["name cursor on a time-ordered list", btoa(JSON.stringify({ after: "a" }))],
    ["time cursor on a name-ordered list", btoa(JSON.stringify([1, "wh_x"]))],
  ];
  for (const [name, cursor] of cursors) {
    for (const path of ["/v1/webhooks", "/v1/event-types"]) {
      if (name.includes("time cursor") && path === "/v1/webhooks") continue;
      if (name.includes("name cursor") && path === "/v1/event-types") continue;
      cases.push({
        name: `GET ${path}: ${name}`,
        method: "GET",
        path: `${path}?cursor=${cursor}`,
        who: "key",
        status: 422,
        code: "invalid_cursor",
      });
    }
  }

  const ids: Array<[string, string, number, string]> = [
    ["unknown webhook", "/v1/webhooks/wh_unknown", 404, "not_found"],
    ["SQL id", `/v1/webhooks/${encodeURIComponent(SQL)}`, 422, "validation_failed"],
    ["id too long", `/v1/webhooks/${"w".repeat(65)}`, 422, "validation_failed"],
    ["unknown contact", "/v1/contacts/ct_unknown", 404, "not_found"],
    ["unknown payload", "/v1/payloads/pl_unknown", 404, "not_found"],
    ["path traversal", "/v1/payloads/..%2F..%2Fetc%2Fpasswd", 422, "validation_failed"],
    ["unknown organization", "/v1/organizations/org_unknown", 404, "not_found"],
  ];
  for (const [name, path, status, code] of ids) {
    cases.push({
      name: `GET: ${name}`,
      method: "GET",
      path,
      who: path.startsWith("/v1/organizations") ? "admin" : "key",
      status,
      code,
    });
  }
  for (
    const [method, path] of [
      ["POST", "/v1/payloads/pl_unknown/resend"],
      ["POST", "/v1/webhooks/wh_unknown/activate"],
      ["POST", "/v1/webhooks/wh_unknown/deactivate"],
      ["POST", "/v1/webhooks/wh_unknown/rotate-secret"],
      ["DELETE", "/v1/webhooks/wh_unknown"],
      ["DELETE", "/v1/contacts/ct_unknown"],
      ["GET", "/v1/webhooks/wh_unknown/payloads"],
      ["POST", "/v1/webhooks/wh_unknown/test"],
    ]
  ) {
    cases.push({
      name: `${method} ${path}`,
      method: method!,
      path: path!,
      who: "key",
      status: 404,
      code: "not_found",
    });
  }

  // Tokens in the wrong place, of the wrong kind, or in the wrong form.
  const auth: Array<[string, string, string, Who, Record<string, string>?]> = [
    ["admin token on a key route", "GET", "/v1/webhooks", "admin"],
    ["admin token on contacts", "GET", "/v1/contacts/{contact}", "admin"],
    ["API key on organizations", "POST", "/v1/organizations", "key"],
    ["API key on another organization's keys", "POST", "/v1/organizations/{org}/api-keys", "key"],
    ["no token on webhooks", "GET", "/v1/webhooks", "none"],
    ["no token on payloads", "GET", "/v1/payloads/pl_x", "none"],
    ["no token on event types", "GET", "/v1/event-types", "none"],
    ["no token on a test send", "POST", "/v1/webhooks/{webhook}/test", "none"],
    ["wrong token on webhooks", "GET", "/v1/webhooks", "bad"],
    ["Basic scheme", "GET", "/v1/webhooks", "none", { authorization: "Basic dXNlcjpwYXNz" }],
    ["Bearer without a token", "GET", "/v1/webhooks", "none", { authorization: "Bearer " }],
    ["token with a newline", "GET", "/v1/webhooks", "none", { authorization: "Bearer hk_a b" }],
    ["admin token prefix only", "GET", "/v1/organizations/{org}", "none", {
      authorization: "Bearer hadm_",
    }],
    ["SQL as a token", "GET", "/v1/webhooks", "none", {
      authorization: `Bearer ${encodeURIComponent(SQL)}`,
    }],
  ];
  for (const [name, method, path, who, headers] of auth) {
    cases.push({
      name: `auth: ${name}`,
      method,
      path,
      who,
      headers,
      body: method === "POST" ? { name: "x", plan: "free" } : undefined,
      status: 401,
      code: "unauthorized",
    });
  }
  return cases;
}
