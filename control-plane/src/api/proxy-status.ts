// ProxyStatus: the xDS server's view of connected proxies, as API messages.
import { clientKindOf, NODE_META } from '@trellis/node-contract';
import type { ProxyStatus, TypeStatus } from '../xds/proxy-status.ts';
import { adminAddressOf } from './mesh-stats.ts';
import type { ProxyMessage, TypeStatusMessage } from './messages.ts';

export function typeToMessage(t: TypeStatus): TypeStatusMessage {
  return {
    type_url: t.typeUrl,
    sent_version: t.sentVersion,
    acked_version: t.ackedVersion,
    acked_at: t.ackedAt ?? '',
    last_nack: t.lastNack ? { ...t.lastNack } : null,
    subscribed: [...t.subscribed],
  };
}

export function proxyToMessage(p: ProxyStatus): ProxyMessage {
  const service = p.node.metadata[NODE_META.service];
  const agent = [p.node.userAgentName, p.node.userAgentVersion].filter((s) => s !== '').join('/');
  return {
    node_id: p.node.id,
    cluster: p.node.cluster,
    service: typeof service === 'string' ? service : '',
    peer: p.peer,
    protocol: p.protocol,
    connected_at: p.connectedAt,
    types: p.types.map(typeToMessage),
    stream_id: p.streamId,
    client_kind: clientKindOf(p.node),
    user_agent: agent,
    identity: p.identity ?? '',
    admin_address: adminAddressOf(p) ?? '',
  };
}
