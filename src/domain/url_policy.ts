/** Which webhook URLs Herald will POST to: HTTPS, public addresses only (unless configured). */

/** What the URL policy allows. */
export interface UrlPolicy {
  allowInsecureUrls: boolean;
  allowPrivateNetworks: boolean;
}

/** The longest webhook URL accepted. */
export const MAX_URL_LENGTH = 2048;

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

const IPV4_BLOCKED: Array<[string, number, string]> = [
  ["0.0.0.0", 8, "unspecified"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "carrier-grade NAT"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "IETF protocol assignments"],
  ["192.0.2.0", 24, "documentation"],
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "benchmarking"],
  ["198.51.100.0", 24, "documentation"],
  ["203.0.113.0", 24, "documentation"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"],
];

/** Why an IPv4 address is not public, or undefined when it is. */
export function blockedIpv4(ip: string): string | undefined {
  const value = ipv4ToInt(ip);
  if (value === undefined) return undefined;
  for (const [base, bits, label] of IPV4_BLOCKED) {
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    if (((value & mask) >>> 0) === ((ipv4ToInt(base)! & mask) >>> 0)) {
      return ip === "169.254.169.254" ? "cloud metadata" : label;
    }
  }
  return undefined;
}

function expandIpv6(ip: string): number[] | undefined {
  let text = ip.toLowerCase().replace(/^\[|\]$/g, "");
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipv4ToInt(v4[1]!);
    if (n === undefined) return undefined;
    text = text.slice(0, -v4[1]!.length) +
      `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail, extra] = text.split("::");
  if (extra !== undefined) return undefined;
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? left.length !== 8 : missing < 0) return undefined;
  const groups = [...left, ...Array(tail === undefined ? 0 : missing).fill("0"), ...right];
  const words = groups.map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN));
  return words.some(Number.isNaN) ? undefined : words;
}

/** Why an IPv6 address is not public, or undefined when it is. */
export function blockedIpv6(ip: string): string | undefined {
  const w = expandIpv6(ip);
  if (!w) return undefined;
  if (w.every((x) => x === 0)) return "unspecified";
  if (w.slice(0, 7).every((x) => x === 0) && w[7] === 1) return "loopback";
  if (w.slice(0, 5).every((x) => x === 0) && (w[5] === 0xffff || w[5] === 0)) {
    return blockedIpv4(`${w[6]! >> 8}.${w[6]! & 255}.${w[7]! >> 8}.${w[7]! & 255}`) ?? undefined;
  }
  if (w[0] === 0x64 && w[1] === 0xff9b) {
    return blockedIpv4(`${w[6]! >> 8}.${w[6]! & 255}.${w[7]! >> 8}.${w[7]! & 255}`);
  }
  if ((w[0]! & 0xfe00) === 0xfc00) return "unique local (private)";
  if ((w[0]! & 0xffc0) === 0xfe80) return "link-local";
  if ((w[0]! & 0xff00) === 0xff00) return "multicast";
  if (w[0] === 0x2001 && w[1] === 0xdb8) return "documentation";
  return undefined;
}

/** Why an IP address (either family) is not public, or undefined when it is. */
export function blockedAddress(ip: string): string | undefined {
  return ip.includes(":") ? blockedIpv6(ip) : blockedIpv4(ip);
}

/** The host without IPv6 brackets or the trailing dot of a fully qualified name. */
/** The URL's host without IPv6 brackets. */
export function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "").replace(/\.+$/, "").toLowerCase();
}

/** Checks a URL's form (scheme, length, host); returns the problem or undefined. */
export function checkUrlForm(text: string, policy: UrlPolicy): string | undefined {
  if (text.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  // The URL parser would drop tabs and line breaks silently; refuse them instead.
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u0020\u007f-\u009f]/.test(text)) {
    return "must not contain spaces or control characters";
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "must be an absolute URL such as https://example.com/webhooks";
  }
  if (url.protocol !== "https:" && !(policy.allowInsecureUrls && url.protocol === "http:")) {
    return policy.allowInsecureUrls ? "must use https:// or http://" : "must use https://";
  }
  if (url.username || url.password) return "must not contain a user name or password";
  if (!url.hostname) return "must name a host";
  if (policy.allowPrivateNetworks) return undefined;
  const host = bareHost(url);
  const literal = blockedAddress(host);
  if (literal) return `must not point to a ${literal} address (${host})`;
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".internal")) {
    return `must not point to a local name (${host})`;
  }
  return undefined;
}

/**
 * The URL as Herald writes it anywhere but the webhook record: scheme, host and port only, since
 * paths and queries of webhook URLs often carry secrets.
 */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    return `${url.protocol}//${url.host}`;
  } catch {
    return "(invalid URL)";
  }
}

/** The text with every URL in it redacted (error messages quote the URL they failed on). */
export function redactUrlsIn(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s)"'<>]+/gi, (url) => redactUrl(url));
}
