// The Listener an xDS-enabled gRPC server asks for (gRFC A36): named by its bootstrap's template for the address it
// binds, one filter chain whose HttpConnectionManager serves every RPC (non_forwarding_action), mTLS under STRICT,
// and the service's AuthorizationPolicies as RBAC filters (gRFC A41).
import type { ProxylessParams } from '@trellis/node-contract';
import { policiesOf, proxylessRbacFilters } from './authorization.ts';
import { HCM_TYPE_URL, ROUTER_FILTER } from './listeners.ts';
import type { MeshIndex } from './mesh-index.ts';
import type { MeshIdentity } from './mesh-tls.ts';
import { proxylessServerTls } from './proxyless-tls.ts';

/** The `server_listener_resource_name_template` a proxyless server's bootstrap must carry (docs/xds.md). */
export const SERVER_LISTENER_TEMPLATE = 'grpc/server?xds.resource.listening_address=%s';

/** The Listener name for a server bound to address:port (IPv6 in brackets, as gRPC formats it). */
export function serverListenerName(address: string, port: number): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return SERVER_LISTENER_TEMPLATE.replace('%s', `${host}:${port}`);
}

/** The server's Listener; TLS when it has certificates and its service is STRICT. */
export function proxylessServerListener(
  index: MeshIndex,
  server: NonNullable<ProxylessParams['server']>,
  mtls: boolean,
  identity: MeshIdentity | undefined,
): Record<string, unknown> {
  const name = serverListenerName(server.address, server.port);
  // Policies name service ports: the one the server binds, else the service's first (as a sidecar fronts one).
  const ports = index.serviceByName.get(server.service)?.spec.ports ?? [];
  const servicePort = (ports.find((p) => p.port === server.port) ?? ports[0])?.port ?? server.port;
  const chain: Record<string, unknown> = {
    name: 'inbound',
    filters: [
      {
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': HCM_TYPE_URL,
          stat_prefix: `inbound_${server.service}`,
          route_config: {
            name: `inbound|${server.service}|${server.port}`,
            virtual_hosts: [
              {
                name: 'inbound',
                domains: ['*'],
                routes: [{ match: { prefix: '' }, non_forwarding_action: {} }],
              },
            ],
          },
          http_filters: [
            ...proxylessRbacFilters(policiesOf(index.authorizationPolicies, server.service), servicePort),
            ROUTER_FILTER,
          ],
        },
      },
    ],
  };
  if (mtls && identity !== undefined && index.mtlsModeOf(server.service) === 'strict')
    chain['transport_socket'] = proxylessServerTls();
  return {
    name,
    address: { socket_address: { address: server.address, port_value: server.port } },
    filter_chains: [chain],
  };
}
