/**
 * The Go client (clients/go): generated from the document the API serves, and its own test
 * (`go test` in clients/go) passing against a real Herald with an HTTPS receiver on loopback.
 */
import assert from "node:assert/strict";
import { ADMIN_TOKEN, stack, stopStackAfterTests, test } from "./harness.ts";
import { testCertificates } from "./tls.ts";
import { documentText, GO_DOCUMENT_FILE } from "../src/client/generate.ts";

const clientDir = new URL("../clients/go/", import.meta.url).pathname;

/** The go command: on the PATH, or where Go's archive installs it; undefined when there is none. */
async function findGo(): Promise<string | undefined> {
  for (const candidate of ["go", "/usr/local/go/bin/go"]) {
    try {
      const out = await new Deno.Command(candidate, { args: ["version"], stdout: "null" }).output();
      if (out.success) return candidate;
    } catch {
      // Not there.
    }
  }
  return undefined;
}

const go = await findGo();
if (!go) console.log("go_client_test: no Go toolchain here, so the Go client is not built or run");

/** Runs go in a directory; its combined output and whether it succeeded. */
async function runGo(args: string[], cwd: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command(go!, { args, cwd, env, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { success: out.success, text };
}

test("go client: clients/go/openapi.json is the document the API serves (run `deno task client`)", async () => {
  assert.equal(
    await Deno.readTextFile(GO_DOCUMENT_FILE),
    await documentText(),
    "clients/go/openapi.json is out of date: run `deno task client`, then `go generate` in clients/go",
  );
});

test(
  "go client: herald.gen.go is what `go generate` makes of clients/go/openapi.json",
  async () => {
    const copy = await Deno.makeTempDir({ prefix: "herald-go-client-" });
    try {
      for (const file of ["go.mod", "go.sum", "herald.go", "oapi-codegen.yaml", "openapi.json"]) {
        await Deno.copyFile(`${clientDir}${file}`, `${copy}/${file}`);
      }
      const generated = await runGo(["generate", "./..."], copy);
      assert.ok(generated.success, generated.text);
      assert.equal(
        await Deno.readTextFile(`${clientDir}herald.gen.go`),
        await Deno.readTextFile(`${copy}/herald.gen.go`),
        "clients/go/herald.gen.go is out of date: run `go generate` in clients/go",
      );
    } finally {
      await Deno.remove(copy, { recursive: true });
    }
  },
  { ignore: !go },
);

test(
  "go client: `go test` in clients/go passes against Herald: organization, webhook, contact, delivery, a typed 422",
  async () => {
    const s = await stack();
    // The receiver's certificate is the one Herald's TLS_CA_FILE signed for 127.0.0.1.
    const { cert, key } = await testCertificates();
    const dir = await Deno.makeTempDir({ prefix: "herald-go-receiver-" });
    try {
      await Deno.writeTextFile(`${dir}/cert.pem`, cert);
      await Deno.writeTextFile(`${dir}/key.pem`, key);
      const result = await runGo(["test", "-count=1", "-v", "./..."], clientDir, {
        HERALD_URL: s.apiUrl,
        HERALD_ADMIN_TOKEN: ADMIN_TOKEN,
        HERALD_RECEIVER_CERT_FILE: `${dir}/cert.pem`,
        HERALD_RECEIVER_KEY_FILE: `${dir}/key.pem`,
      });
      assert.ok(result.success, result.text);
      for (
        const name of ["TestOrganizationWebhookContactAndDelivery", "TestARefusalIsATypedError"]
      ) {
        assert.match(result.text, new RegExp(`--- PASS: ${name} `), result.text);
      }
      assert.doesNotMatch(result.text, /--- SKIP/, result.text);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  { ignore: !go },
);

stopStackAfterTests();
