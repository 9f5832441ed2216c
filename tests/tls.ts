/** A test certificate authority and a server certificate for 127.0.0.1, made with openssl. */

/** PEM files of the test CA and of a loopback server certificate it signed. */
export interface TestCertificates {
  caCert: string;
  cert: string;
  key: string;
  caFile: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

let certificates: Promise<TestCertificates> | undefined;

/** Makes the certificates once per test process. */
export function testCertificates(): Promise<TestCertificates> {
  certificates ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "herald-tls-" });
    await openssl([
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=Herald Test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ], dir);
    await openssl([
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=127.0.0.1",
    ], dir);
    await Deno.writeTextFile(
      `${dir}/ext.cnf`,
      "subjectAltName=IP:127.0.0.1,IP:127.0.0.2,DNS:localhost,DNS:*.herald.test\n" +
        "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    );
    await openssl([
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.pem",
      "-days",
      "2",
      "-extfile",
      "ext.cnf",
    ], dir);
    return {
      caCert: await Deno.readTextFile(`${dir}/ca.pem`),
      cert: await Deno.readTextFile(`${dir}/server.pem`),
      key: await Deno.readTextFile(`${dir}/server.key`),
      caFile: `${dir}/ca.pem`,
    };
  })();
  return certificates;
}
