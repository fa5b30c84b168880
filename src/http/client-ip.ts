/**
 * The client address: the socket peer, unless that peer is a configured proxy, in which case the
 * right-most X-Forwarded-For hop that is not itself a trusted proxy (clients can forge the left part).
 */
export function clientAddress(socketPeer: string, forwardedFor: string | null, trustedProxies: ReadonlySet<string>): string {
  // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; one client must have one key.
  const peer = socketPeer.startsWith("::ffff:") ? socketPeer.slice(7) : socketPeer;
  if (!forwardedFor || !trustedProxies.has(peer)) return peer;
  const hops = forwardedFor.split(",").map((h) => h.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!trustedProxies.has(hops[i]!)) return hops[i]!;
  }
  return hops[0] ?? peer;
}
