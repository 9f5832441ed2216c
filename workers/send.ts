/** Webhooks over HTTP: one POST per attempt, no redirects, a timeout, at most 1 KiB of the answer. */
import { VERSION } from "../src/version.ts";
import { decodeLenient, storableText } from "../src/domain/text.ts";
import { checkUrlForm, redactUrlsIn, type UrlPolicy } from "../src/domain/url_policy.ts";
import type { Destination, SendRequest, SendResult } from "../src/usecases/attempts.ts";
import type { EgressProxy } from "./egress.ts";

/** The most of a response body that is read and recorded. */
export const RESPONSE_BODY_LIMIT = 1024;

/** What the HTTP destination needs. */
export interface HttpDestinationOptions {
  /** Which URLs attempts may reach: the form here, the addresses in the egress proxy. */
  urlPolicy: UrlPolicy;
  /** The proxy every delivery connection goes through (workers/egress.ts); none in unit tests. */
  egress?: EgressProxy;
  /** Extra CA certificates (PEM) trusted for deliveries. */
  caCerts?: string[];
}

/** The HTTP destination, with the clients it keeps. */
export interface HttpDestination extends Destination {
  /** Closes every client. */
  close(): void;
}

/**
 * Webhooks over HTTPS (HTTP in development). Attempts send through lanes: HTTP clients that each
 * serve one attempt at a time and keep their connections between attempts. A lane names itself
 * to the egress proxy (as the proxy's user name), so a refusal the proxy records for a lane is
 * the refusal of the one attempt that holds it.
 */
export function httpDestination(options: HttpDestinationOptions): HttpDestination {
  const { egress } = options;
  const lanes: Array<{ name: string; client: Deno.HttpClient }> = [];
  const free: typeof lanes = [];
  const newLane = () => {
    const name = `lane-${lanes.length + 1}`;
    const client = Deno.createHttpClient({
      caCerts: options.caCerts ?? [],
      ...(egress && { proxy: { url: egress.url, basicAuth: { username: name, password: "" } } }),
    });
    const lane = { name, client };
    lanes.push(lane);
    return lane;
  };
  return {
    validate: (url) => checkUrlForm(url, options.urlPolicy),
    async send(request) {
      const lane = free.pop() ?? newLane();
      try {
        egress?.takeRefusal(lane.name); // One a stopped attempt left behind is not this one's.
        const result = await sendPayload(request, lane.client);
        const refusal = egress?.takeRefusal(lane.name);
        if (!refusal) return result;
        // The proxy answered, not the receiver: Herald refused the address or could not connect.
        return {
          status: null,
          error: refusal,
          body: null,
          durationMs: result.durationMs,
          refused: refusal.startsWith("Refused:"),
        };
      } finally {
        free.push(lane);
      }
    },
    close() {
      for (const lane of lanes) lane.client.close();
    },
  };
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
        ...(request.sequence !== undefined && { "webhook-sequence": String(request.sequence) }),
      },
      body: request.body,
    });
    const body = await readLimited(response, signal);
    return {
      status: response.status,
      error: null,
      body,
      durationMs: elapsed(),
      retryAfter: response.headers.get("retry-after"),
    };
  } catch (err) {
    return {
      status: null,
      error: storableText(redactUrlsIn(describeSendError(err, request.timeoutMs))),
      body: null,
      durationMs: elapsed(),
      timedOut: isTimeout(err),
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

function isTimeout(err: unknown): boolean {
  return err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError");
}

function describeSendError(err: unknown, timeoutMs: number): string {
  if (isTimeout(err)) return `Timed out after ${timeoutMs} ms`;
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
  const message = (err instanceof Error ? err.message : String(err)) + cause;
  if (/certificate|tls|ssl/i.test(message)) return `TLS error: ${message}`;
  if (/refused/i.test(message)) return `Connection refused: ${message}`;
  return `Request failed: ${message}`;
}
