// Who may announce an endpoint: a proxy that proved its identity (mTLS; the service binding is checked when its stream
// opens), at its own address unless NAT is allowed; plaintext proxies only when the operator allows it.
import { NODE_META } from '@trellis/node-contract';
import type { ProxyStatus } from '../xds/proxy-status.ts';
import type { Endpoint } from './endpoint.ts';
import { grpcPeerIp } from './from-node.ts';

export interface AnnouncementPolicy {
  /** Proxies on the plaintext xDS port may announce endpoints (`--xds-insecure-announce`; unauthenticated). */
  allowPlaintext: boolean;
  /** `peer`: the announced address must be the stream's peer IP; `any`: NAT between proxies and control plane. */
  address: 'peer' | 'any';
}

export const DEFAULT_ANNOUNCEMENT_POLICY: AnnouncementPolicy = { allowPlaintext: false, address: 'peer' };

/** Why `status`'s proxy may not announce `ep`, or undefined when it may. */
export function announcementProblem(
  policy: AnnouncementPolicy,
  ep: Endpoint,
  status: Pick<ProxyStatus, 'identity' | 'peer'>,
): string | undefined {
  if (status.identity === undefined && !policy.allowPlaintext)
    return `${NODE_META.service}: a proxy on the plaintext xDS port may not announce endpoints (connect with a workload certificate: --join-token)`;
  if (policy.address === 'peer') {
    const peerIp = grpcPeerIp(status.peer);
    if (peerIp === undefined)
      return `${NODE_META.address}: the proxy's own address is unknown (peer ${JSON.stringify(status.peer)}), so no address can be checked`;
    if (peerIp !== ep.address)
      return `${NODE_META.address}: ${ep.address} is not this proxy's own address ${peerIp} (a control plane behind NAT allows it with --announced-address any)`;
  }
  return undefined;
}
