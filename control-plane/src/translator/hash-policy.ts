// RouteAction.hash_policy from a service's loadBalancer: consistentHash keys or a sticky-session cookie, per client.

import type { ClientKind } from '@trellis/node-contract';
import { duration } from '@trellis/xds-protos';
import { parseDuration } from '../resources/duration.ts';
import type { ConsistentHash, LoadBalancer, StickySession } from '../resources/types.ts';

/** gRPC's stand-in for a client identity: every call on one channel hashes alike. */
const GRPC_CHANNEL_ID = { filter_state: { key: 'io.grpc.channel_id' } };

/** Route hash_policy for a service's consistent hash; gRPC honours only headers (and its channel id). */
export function hashPolicy(hash: ConsistentHash | undefined, client: ClientKind): Record<string, unknown>[] {
  if (!hash) return [];
  const out: Record<string, unknown>[] = [];
  if (hash.header !== undefined) out.push({ header: { header_name: hash.header.toLowerCase() } });
  if (client === 'proxyless') {
    if (hash.sourceIp) out.push(GRPC_CHANNEL_ID);
    return out;
  }
  if (hash.cookie) {
    const cookie: Record<string, unknown> = { name: hash.cookie.name };
    const ttl = hash.cookie.ttl === undefined ? undefined : parseDuration(hash.cookie.ttl);
    if (ttl !== undefined) cookie['ttl'] = duration(ttl);
    if (hash.cookie.path !== undefined) cookie['path'] = hash.cookie.path;
    out.push({ cookie });
  }
  if (hash.sourceIp) out.push({ connection_properties: { source_ip: true } });
  if (hash.queryParam !== undefined) out.push({ query_parameter: { name: hash.queryParam } });
  return out;
}

/**
 * A sticky session's hash policy. Proxies hash on the cookie and, because a ttl is always sent (0s = a session
 * cookie when none is given), set it on responses to requests that lack it: Envoy's generated-cookie affinity.
 * gRPC has no cookies: its channel id keeps each channel on one backend, the closest equivalent.
 */
export function stickyHashPolicy(sticky: StickySession, client: ClientKind): Record<string, unknown>[] {
  if (client === 'proxyless') return [GRPC_CHANNEL_ID];
  const { name, ttl, path } = sticky.cookie;
  const cookie: Record<string, unknown> = { name, ttl: duration(ttl === undefined ? 0 : (parseDuration(ttl) ?? 0)) };
  if (path !== undefined) cookie['path'] = path;
  return [{ cookie }];
}

/** The hash policy routes to a service carry: from its stickySession or its consistentHash; [] when it has none. */
export function hashPolicyFor(lb: LoadBalancer | undefined, client: ClientKind): Record<string, unknown>[] {
  if (lb?.stickySession) return stickyHashPolicy(lb.stickySession, client);
  return hashPolicy(lb?.consistentHash, client);
}

/** Whether routes to a service with this loadBalancer carry a hash policy at all. */
export function hashesRequests(lb: LoadBalancer | undefined): boolean {
  return lb?.stickySession !== undefined || lb?.consistentHash !== undefined;
}
