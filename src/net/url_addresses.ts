/** The network side of the URL policy: where a webhook's host resolves right now. */
import { lookup } from "node:dns/promises";
import {
  addressesRefusal,
  bareHost,
  blockedAddress,
  isAddressLiteral,
  type UrlPolicy,
} from "../domain/url_policy.ts";
import { withinMs } from "../deadline.ts";

/** How long saving a webhook waits for its name to resolve. */
const SAVE_LOOKUP_TIMEOUT_MS = 3_000;

/** Resolves a host name to its addresses. */
export type Resolver = (host: string) => Promise<string[]>;

/** The system resolver, as connections use it (hosts file included). */
export const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true })).map((a) => a.address);

/**
 * Resolves the URL's host when a webhook is saved and returns the problem when an address is not
 * allowed. A name that does not resolve yet is accepted: every attempt resolves it again and
 * connects only to an address it checked (workers/egress.ts).
 */
export async function checkUrlAddresses(
  text: string,
  policy: UrlPolicy,
  resolve: Resolver = systemResolver,
): Promise<string | undefined> {
  if (policy.allowPrivateNetworks) return undefined;
  const host = bareHost(new URL(text));
  if (isAddressLiteral(host)) {
    const reason = blockedAddress(host, policy);
    return reason && `must not point to a ${reason} address (${host})`;
  }
  let addresses: string[] = [];
  try {
    addresses = await withinMs(resolve(host), SAVE_LOOKUP_TIMEOUT_MS, "the lookup");
  } catch {
    // A name that does not resolve yet, or not in time: every attempt checks it again.
  }
  return addressesRefusal(host, addresses, policy);
}
