/** A webhook's custom request headers: which names and values Herald sends on its owner's behalf. */

/** The most custom headers one webhook has. */
export const MAX_HEADERS = 20;
/** The longest custom header name. */
export const MAX_HEADER_NAME_LENGTH = 64;
/** The longest custom header value. */
export const MAX_HEADER_VALUE_LENGTH = 1024;

/** An HTTP field name: a token (RFC 9110, section 5.6.2). */
export const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A value Herald sends as is: printable ASCII, space and tab (no CR, LF, NUL nor non-ASCII). */
export const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

/** Headers Herald sets on every attempt (SPEC §5), beside the Standard Webhooks `webhook-*` ones. */
const HERALD_HEADERS = ["content-type", "user-agent"];

/** Headers that frame the message or belong to one connection, not to the receiver. */
const HTTP_HEADERS = [
  "host",
  "content-length",
  "content-encoding",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
  "expect",
  "http2-settings",
];

/**
 * Why a custom header name is refused, or undefined when Herald sends it. `__proto__` is refused
 * in any case, since names are stored lower case: an object assigned that key sets its prototype
 * instead, so the header would be dropped silently on its way to the receiver.
 */
export function reservedHeaderProblem(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (lower === "__proto__") return "__proto__ cannot be kept as a header name";
  if (HERALD_HEADERS.includes(lower) || lower.startsWith("webhook-")) {
    return `${lower} is set by Herald on every attempt`;
  }
  if (HTTP_HEADERS.includes(lower) || lower.startsWith("proxy-")) {
    return `${lower} is reserved by HTTP`;
  }
  return undefined;
}
