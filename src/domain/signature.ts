/** Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. */
import { decodeBase64, encodeBase64 } from "./base64.ts";

async function hmacKey(secret: string): Promise<CryptoKey> {
  const raw = decodeBase64(secret.startsWith("whsec_") ? secret.slice(6) : secret);
  return await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
}

/** Signs one attempt with each secret; the header value lists them separated by spaces. */
export async function signWebhook(
  secrets: string[],
  webhookId: string,
  timestampSeconds: number,
  body: string,
): Promise<string> {
  const content = new TextEncoder().encode(`${webhookId}.${timestampSeconds}.${body}`);
  const signatures = await Promise.all(secrets.map(async (secret) => {
    const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), content);
    return `v1,${encodeBase64(new Uint8Array(mac))}`;
  }));
  return signatures.join(" ");
}
