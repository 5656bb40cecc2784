/**
 * The client's address, which the per-address rate limits count. Behind a load
 * balancer the TCP peer is the balancer, so its X-Forwarded-For is believed,
 * but only from the proxies TRUSTED_PROXIES names: the header is walked from
 * the right, skipping trusted hops, and the first untrusted address is the
 * client (what Express's `trust proxy` does, with the library it uses,
 * proxy-addr). With no trusted proxies (the default) the header is ignored,
 * so a client cannot pick the address it is counted under.
 */
import type { IncomingMessage } from "node:http";
import proxyAddr from "proxy-addr";

export type AddressOf = (req: IncomingMessage) => string;

/** `trustedProxies`: addresses and CIDRs as config.ts checked them (TRUSTED_PROXIES). */
export function clientAddressOf(trustedProxies: readonly string[]): AddressOf {
  if (trustedProxies.length === 0) return (req) => req.socket.remoteAddress ?? "unknown";
  const trust = proxyAddr.compile([...trustedProxies]);
  // proxy-addr reads the peer from req.socket (req.connection is the same socket, deprecated).
  return (req) => (req.socket.remoteAddress === undefined ? "unknown" : proxyAddr(req, trust));
}
