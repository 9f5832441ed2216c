/** Herald's pure rules (src/domain): no database, no Temporal, no network. */
import assert from "node:assert/strict";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { decodeLenient, storableText } from "../src/domain/text.ts";
import { buildPayloadBody } from "../src/domain/payload_body.ts";
import { signWebhook } from "../src/domain/signature.ts";
import { newSigningSecret } from "../src/domain/secrets.ts";
import { blockedAddress, checkUrlForm, redactUrl, redactUrlsIn } from "../src/domain/url_policy.ts";
import { newId } from "../src/domain/ids.ts";
import {
  EVENT_NAME,
  EVENT_TYPE_PATTERN,
  isSubscribed,
  patternsMatching,
} from "../src/domain/event_types.ts";
import { HEADER_NAME, HEADER_VALUE, reservedHeaderProblem } from "../src/domain/webhook_headers.ts";

const strict = { allowInsecureUrls: false, allowPrivateNetworks: false, allowedNetworks: [] };

Deno.test("any bytes a receiver answers become storable text: NUL and bad UTF-8 as U+FFFD", () => {
  assert.equal(decodeLenient(new Uint8Array([0x6f, 0x6b, 0x00, 0xff])), "ok\uFFFD\uFFFD");
  assert.equal(decodeLenient(new TextEncoder().encode("héllo ✓")), "héllo ✓");
  // A multi-byte character cut by the 1 KiB limit.
  assert.equal(decodeLenient(new Uint8Array([0x61, 0xe2, 0x9c])), "a\uFFFD");
});

Deno.test("text with NUL or a lone surrogate is made storable; valid pairs stay", () => {
  assert.equal(storableText("a\u0000b"), "a\uFFFDb");
  assert.equal(storableText("x\uD800y"), "x\uFFFDy");
  assert.equal(storableText("x\uDC00y"), "x\uFFFDy");
  assert.equal(storableText("emoji 😀"), "emoji 😀");
});

Deno.test("the payload body has the seed's shape, with the attempt's number", () => {
  const body = buildPayloadBody({
    payloadId: "pl_1",
    event: "contact.updated",
    payloadCreatedAt: 1,
    attempt: 3,
    firstSentAt: 2,
    object: "contact",
    objectId: "ct_1",
    objectCreatedAt: 0,
    data: { email: "new@example.com" },
    verifyToken: null,
  });
  assert.deepEqual(body, {
    _id: "pl_1",
    event: "contact.updated",
    createdAt: 1,
    deliveryAttempts: 3,
    firstSentAt: 2,
    items: {
      _id: "ct_1",
      object: "contact",
      createdAt: 0,
      data: { email: "new@example.com" },
      infoWebhook: { verifyToken: null },
    },
  });
});

Deno.test("a signature verifies with the Standard Webhooks library, with either secret", async () => {
  const [current, previous] = [newSigningSecret(), newSigningSecret()];
  const timestamp = Math.floor(Date.now() / 1000);
  const body = '{"_id":"pl_1"}';
  const signature = await signWebhook([current, previous], "pl_1", timestamp, body);
  const headers = {
    "webhook-id": "pl_1",
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signature,
  };
  for (const secret of [current, previous]) {
    assert.deepEqual(new StandardWebhook(secret).verify(body, headers), { _id: "pl_1" });
  }
  assert.throws(() => new StandardWebhook(newSigningSecret()).verify(body, headers));
});

Deno.test("a webhook URL must be HTTPS, absolute, without credentials, and not private", () => {
  assert.equal(checkUrlForm("https://example.com/hooks", strict), undefined);
  assert.match(checkUrlForm("http://example.com/hooks", strict)!, /https/);
  assert.match(checkUrlForm("example.com", strict)!, /absolute/);
  assert.match(checkUrlForm("https://u:p@example.com/", strict)!, /user name/);
  assert.match(checkUrlForm("https://127.0.0.1/", strict)!, /loopback/);
  assert.match(checkUrlForm("https://localhost/", strict)!, /local name/);
  assert.equal(
    checkUrlForm("http://127.0.0.1/", {
      ...strict,
      allowInsecureUrls: true,
      allowPrivateNetworks: true,
    }),
    undefined,
  );
});

Deno.test("every IPv6 form that can embed or reach a private IPv4 address is refused", () => {
  const refused: Array<[string, RegExp]> = [
    ["fec0::1", /site-local/],
    ["::ffff:10.0.0.1", /private|IPv4-mapped/],
    ["::ffff:0:10.0.0.1", /IPv4-translated/],
    ["64:ff9b::a00:1", /NAT64/],
    ["64:ff9b:1::a00:1", /NAT64/],
    ["2002:a00:1::1", /6to4/],
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2", /Teredo/],
    ["100::1", /discard/],
    ["fd00::1", /unique local/],
    ["fe80::1", /link-local/],
    ["::1", /loopback/],
    ["169.254.169.254", /cloud metadata/],
    ["100.64.0.1", /carrier-grade NAT/],
    ["198.18.0.1", /reserved|benchmarking/],
  ];
  for (const [address, label] of refused) {
    assert.match(blockedAddress(address) ?? "allowed", label, address);
  }
  for (const address of ["93.184.215.14", "2606:4700:4700::1111"]) {
    assert.equal(blockedAddress(address), undefined, address);
  }
});

Deno.test("a list of allowed networks lets just those addresses through", () => {
  const policy = { ...strict, allowedNetworks: ["127.0.0.1/32", "10.1.0.0/16"] };
  assert.equal(blockedAddress("127.0.0.1", policy), undefined);
  assert.equal(blockedAddress("10.1.2.3", policy), undefined);
  assert.equal(blockedAddress("127.0.0.2", policy), "loopback");
  assert.equal(blockedAddress("10.2.0.1", policy), "private");
});

Deno.test("a redacted URL keeps its scheme, host and port only, wherever it is quoted", () => {
  assert.equal(
    redactUrl("https://hooks.example.com:8443/services/T0/B1/secret?token=x"),
    "https://hooks.example.com:8443",
  );
  assert.equal(redactUrl("not a url"), "(invalid URL)");
  assert.equal(
    redactUrlsIn("error sending request for url (https://h.example.com/s/secret?k=1): refused"),
    "error sending request for url (https://h.example.com): refused",
  );
});

Deno.test("ids are prefixed, time-ordered and unique", () => {
  const a = newId("pl");
  const b = newId("pl");
  assert.match(a, /^pl_[0-9a-z]{26}$/);
  assert.notEqual(a, b);
  assert.ok(a.slice(3, 13) <= b.slice(3, 13));
});

Deno.test("an exact event type matches that name only", () => {
  assert.ok(isSubscribed(["contact.created"], "contact.created"));
  assert.ok(!isSubscribed(["contact.created"], "contact.updated"));
  assert.ok(!isSubscribed(["contact.created"], "contact.created.x"));
  assert.ok(!isSubscribed(["contact.created"], "contact"));
  assert.ok(isSubscribed(["invoice.paid", "contact.created"], "contact.created"));
});

Deno.test("prefix.* matches every name under the prefix at any depth, never the prefix itself", () => {
  assert.ok(isSubscribed(["contact.*"], "contact.created"));
  assert.ok(isSubscribed(["contact.*"], "contact.note.added"));
  assert.ok(!isSubscribed(["contact.*"], "contact"));
  assert.ok(!isSubscribed(["contact.*"], "contactx.y"));
  assert.ok(!isSubscribed(["contact.*"], "contacts.created"));
  assert.ok(!isSubscribed(["contact.*"], "x.contact.created"));
  assert.ok(isSubscribed(["a.*"], "a.b.c"));
  assert.ok(isSubscribed(["a.b.*"], "a.b.c"));
  assert.ok(!isSubscribed(["a.b.*"], "a.b"));
  assert.ok(!isSubscribed(["a.b.*"], "a.c.d"));
});

Deno.test("* matches every event; no pattern matches nothing", () => {
  for (const type of ["a", "contact.created", "x.y.z.w"]) assert.ok(isSubscribed(["*"], type));
  assert.ok(!isSubscribed([], "a"));
  assert.deepEqual(patternsMatching("a.b.c"), ["*", "a.*", "a.b.*", "a.b.c"]);
  assert.deepEqual(patternsMatching("ping"), ["*", "ping"]);
});

Deno.test("an event type pattern is *, an event name, or an event name followed by .*", () => {
  for (const ok of ["*", "a", "a.b", "a.*", "a.b_c.*", "order_2.paid"]) {
    assert.ok(EVENT_TYPE_PATTERN.test(ok), ok);
  }
  for (const bad of ["", "**", "a*", "a.*.b", "*.a", "a.", ".a", "a..b", "A.b", "a.**", "a.b*"]) {
    assert.ok(!EVENT_TYPE_PATTERN.test(bad), bad);
  }
  // Every pattern an event name matches is itself a valid pattern.
  for (const name of ["a", "a.b.c", "x_1.y"]) {
    assert.ok(EVENT_NAME.test(name));
    for (const p of patternsMatching(name)) assert.ok(EVENT_TYPE_PATTERN.test(p), p);
  }
});

Deno.test("custom header names Herald sets or HTTP reserves are refused, in any case", () => {
  for (
    const name of [
      "Content-Type",
      "user-agent",
      "Webhook-Signature",
      "webhook-id",
      "webhook-timestamp",
      "webhook-anything",
    ]
  ) {
    assert.match(reservedHeaderProblem(name) ?? "allowed", /set by Herald/, name);
  }
  for (
    const name of ["Host", "content-length", "Transfer-Encoding", "connection", "TE", "Upgrade"]
  ) {
    assert.match(reservedHeaderProblem(name) ?? "allowed", /reserved by HTTP/, name);
  }
  assert.match(reservedHeaderProblem("Proxy-Authorization")!, /reserved by HTTP/);
  for (const name of ["Authorization", "X-Api-Key", "cookie", "x-webhook-id", "accept"]) {
    assert.equal(reservedHeaderProblem(name), undefined, name);
  }
});

Deno.test("a custom header name is an HTTP token; a value has no CR, LF, NUL or non-ASCII", () => {
  for (const ok of ["X-Api-Key", "authorization", "x_1!#$%&'*+.^`|~"]) {
    assert.ok(HEADER_NAME.test(ok), ok);
  }
  for (const bad of ["", "X Api", "x:y", "x\r\ny", "é", ":authority", "a/b", "(x)"]) {
    assert.ok(!HEADER_NAME.test(bad), bad);
  }
  for (const ok of ["Bearer abc.def", "a\tb", "", "~!@#"]) assert.ok(HEADER_VALUE.test(ok), ok);
  for (const bad of ["a\r\nX-Injected: 1", "a\nb", "a\u0000b", "caf\u00e9", "\u007f"]) {
    assert.ok(!HEADER_VALUE.test(bad), JSON.stringify(bad));
  }
});
