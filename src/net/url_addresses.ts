/** The network side of the URL policy: where a webhook's host resolves right now. */
import { lookup } from "node:dns/promises";
import { bareHost, blockedAddress, type UrlPolicy } from "../domain/url_policy.ts";

/** Resolves the URL's host and returns the problem when any address is not public. */
export async function checkUrlAddresses(
  text: string,
  policy: UrlPolicy,
): Promise<string | undefined> {
  if (policy.allowPrivateNetworks) return undefined;
  const host = bareHost(new URL(text));
  if (/^[\d.]+$/.test(host) || host.includes(":")) return blockedAddress(host) && "not public";
  // The system resolver, as the connection itself will use it (hosts file included).
  let addresses: string[] = [];
  try {
    addresses = (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    // A name that does not resolve.
  }
  // A name that does not resolve yet is accepted; every attempt checks again.
  for (const address of addresses) {
    const reason = blockedAddress(address);
    if (reason) return `must not resolve to a ${reason} address (${host} → ${address})`;
  }
  return undefined;
}
