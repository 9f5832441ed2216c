/** Which webhook URLs Herald will POST to: HTTPS, public addresses only (unless configured). */
import ipaddr from "ipaddr.js";

/** What the URL policy allows. */
export interface UrlPolicy {
  allowInsecureUrls: boolean;
  /** Every address allowed (development only). */
  allowPrivateNetworks: boolean;
  /** CIDRs allowed although not public (ALLOW_PRIVATE_NETWORKS as a list). */
  allowedNetworks: string[];
}

/** The longest webhook URL accepted. */
export const MAX_URL_LENGTH = 2048;

/**
 * IPv6 ranges Herald refuses although ipaddr.js may count them as unicast, from IANA's IPv6
 * special-purpose address registry (reviewed against its 2025 edition) and RFC 4291's deprecated
 * IPv4-compatible form, which embeds an IPv4 address as `::a.b.c.d`.
 */
const EXTRA_IPV6_BLOCKED = ([
  ["::/96", "IPv4-compatible"],
  ["fec0::/10", "site-local (deprecated)"],
  ["100::/64", "discard-only"],
  ["100:0:0:1::/64", "dummy prefix"],
  ["64:ff9b:1::/48", "NAT64 (local use)"],
  ["2001::/23", "IETF protocol assignments"],
  ["2001:db8::/32", "documentation"],
  ["2620:4f:8000::/48", "AS112"],
  ["3fff::/20", "documentation"],
  ["5f00::/16", "segment routing"],
] as const).map(([cidr, label]) => [ipaddr.parseCIDR(cidr), label] as const);

/**
 * IPv6 global unicast, the only block IANA allocates for the public Internet: everything outside
 * it is reserved by the IETF or special (loopback, mapped, link-local, unique local, multicast).
 */
const IPV6_GLOBAL_UNICAST = ipaddr.parseCIDR("2000::/3");

/** ipaddr.js range names in words. */
const RANGE_LABELS: Record<string, string> = {
  unspecified: "unspecified",
  broadcast: "broadcast",
  multicast: "multicast",
  linkLocal: "link-local",
  loopback: "loopback",
  carrierGradeNat: "carrier-grade NAT",
  private: "private",
  reserved: "reserved",
  uniqueLocal: "unique local (private)",
  ipv4Mapped: "IPv4-mapped",
  rfc6145: "IPv4-translated",
  rfc6052: "NAT64",
  "6to4": "6to4",
  teredo: "Teredo",
  benchmarking: "benchmarking",
  amt: "AMT",
  as112: "AS112",
  as112v6: "AS112",
  deprecated: "deprecated",
  orchid2: "ORCHIDv2",
  deprecatedSiteLocal: "site-local (deprecated)",
  discard: "discard-only",
  deprecatedOrchid: "ORCHID (deprecated)",
  droneRemoteIdProtocolEntityTags: "drone remote ID",
  segmentRouting: "segment routing",
};

/** Parses CIDRs such as `127.0.0.1/32` (ALLOW_PRIVATE_NETWORKS as a list); throws on a bad one. */
export function parseNetworks(list: string[]): Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> {
  return list.map((cidr) => ipaddr.parseCIDR(cidr));
}

/**
 * Why an address may not be reached, or undefined when it may: only ipaddr.js's `unicast`
 * (public) range passes, less Herald's own additions, and for IPv6 only global unicast; every IPv6
 * form that can embed or reach an IPv4 address (compatible, mapped, translated, NAT64, 6to4,
 * Teredo) is refused outright, unless the policy allows the address.
 */
export function blockedAddress(ip: string, policy?: UrlPolicy): string | undefined {
  if (!ipaddr.isValid(ip)) return undefined;
  const address = ipaddr.parse(ip);
  if (policy?.allowPrivateNetworks === true) return undefined;
  for (const [network, bits] of parseNetworks(policy?.allowedNetworks ?? [])) {
    if (address.kind() === network.kind() && address.match(network, bits)) return undefined;
  }
  if (address.kind() === "ipv4" && ip === "169.254.169.254") return "cloud metadata";
  const range = address.range();
  if (range !== "unicast") return RANGE_LABELS[range] ?? range;
  if (address.kind() === "ipv6") {
    for (const [[network, bits], label] of EXTRA_IPV6_BLOCKED) {
      if (address.match(network, bits)) return label;
    }
    if (!address.match(IPV6_GLOBAL_UNICAST)) return "reserved";
  }
  return undefined;
}

/** Whether a host is an IP address literal (no lookup needed). */
export function isAddressLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}

/** Why a host's resolved addresses may not be reached (the first refused one), or undefined. */
export function addressesRefusal(
  host: string,
  addresses: string[],
  policy: UrlPolicy,
): string | undefined {
  for (const address of addresses) {
    const reason = blockedAddress(address, policy);
    if (reason) return `must not resolve to a ${reason} address (${host} → ${address})`;
  }
  return undefined;
}

/** A host as Herald compares it: lower case, without IPv6 brackets or a trailing dot. */
export function normalHost(host: string): string {
  return host.replace(/^\[|\]$/g, "").replace(/\.+$/, "").toLowerCase();
}

/** The URL's host without IPv6 brackets. */
export function bareHost(url: URL): string {
  return normalHost(url.hostname);
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
  const literal = blockedAddress(host, policy);
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
