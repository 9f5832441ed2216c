/** One HTTP POST of a payload: no redirects, a timeout, and at most 1 KiB of the answer read. */
import { VERSION } from "../src/version.ts";
import { decodeLenient, storableText } from "../src/domain/text.ts";
import { redactUrlsIn } from "../src/domain/url_policy.ts";

/** The most of a response body that is read and recorded. */
export const RESPONSE_BODY_LIMIT = 1024;

/** What one POST produced; every string is storable text. */
export interface SendResult {
  status: number | null;
  error: string | null;
  body: string | null;
  durationMs: number;
}

/** What one POST sends. */
export interface SendRequest {
  url: string;
  body: string;
  payloadId: string;
  timestampSeconds: number;
  signature: string;
  timeoutMs: number;
  /** The webhook's custom headers; none of them is a name Herald sets. */
  headers: Record<string, string>;
}

/**
 * POSTs a payload body with the webhook's custom headers and the Standard Webhooks ones (which win
 * over a custom one of the same name); never throws for the receiver's faults.
 */
export async function sendPayload(
  request: SendRequest,
  client: Deno.HttpClient | undefined,
): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const signal = AbortSignal.timeout(request.timeoutMs);
  try {
    const response = await fetch(request.url, {
      method: "POST",
      redirect: "manual",
      signal,
      client,
      headers: {
        ...request.headers,
        "content-type": "application/json; charset=utf-8",
        "user-agent": `Herald-Webhooks/${VERSION}`,
        "webhook-id": request.payloadId,
        "webhook-timestamp": String(request.timestampSeconds),
        "webhook-signature": request.signature,
      },
      body: request.body,
    });
    const body = await readLimited(response, signal);
    return { status: response.status, error: null, body, durationMs: elapsed() };
  } catch (err) {
    return {
      status: null,
      error: storableText(redactUrlsIn(describeSendError(err, request.timeoutMs))),
      body: null,
      durationMs: elapsed(),
    };
  }
}

async function readLimited(response: Response, signal: AbortSignal): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_BODY_LIMIT && !signal.aborted) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // A body cut short still leaves what was read; the status decides the attempt.
  } finally {
    reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return decodeLenient(all.subarray(0, RESPONSE_BODY_LIMIT));
}

function describeSendError(err: unknown, timeoutMs: number): string {
  if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return `Timed out after ${timeoutMs} ms`;
  }
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
  const message = (err instanceof Error ? err.message : String(err)) + cause;
  if (/certificate|tls|ssl/i.test(message)) return `TLS error: ${message}`;
  if (/refused/i.test(message)) return `Connection refused: ${message}`;
  return `Request failed: ${message}`;
}
