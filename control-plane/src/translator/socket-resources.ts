// Extension point: the socket (address-bound) listeners each kind of client gets, with the resources only they use.
import type { ClientKind, ProxylessParams, SidecarParams } from '@trellis/node-contract';
import { gatewaySocketResources } from './gateway.ts';
import { memoizedResources } from './memo.ts';
import type { MeshIndex } from './mesh-index.ts';
import type { MeshState } from './mesh-state.ts';
import { buildOutboundRouteConfiguration } from './outbound-routes.ts';
import { proxylessServerListener } from './proxyless-server.ts';
import type { Warn } from './routes.ts';
import { sidecarSocketResources } from './sidecar-listeners.ts';

/** Socket listeners plus the clusters and route configurations that exist only for them. */
export interface SocketResources {
  listeners: Record<string, unknown>[];
  clusters: Record<string, unknown>[];
  routes: Record<string, unknown>[];
}

export type SocketResourceBuilder = (
  index: MeshIndex,
  state: MeshState,
  sidecar: SidecarParams | undefined,
  warn: Warn,
  proxyless?: ProxylessParams,
) => SocketResources;

const NONE: SocketResourceBuilder = () => ({ listeners: [], clusters: [], routes: [] });

/**
 * Per client kind. An xDS-enabled gRPC server gets the Listener of the address it binds (gRFC A36); gRPC clients
 * bind no sockets; Envoy's socket listeners are not emitted yet.
 * A Trellis sidecar gets outbound / inbound / per-upstream TCP listeners shaped by its node metadata; one serving as
 * an edge gateway (TRELLIS_GATEWAY) gets its Gateway's listeners.
 */
export const SOCKET_RESOURCES: Readonly<Record<ClientKind, SocketResourceBuilder>> = {
  proxyless: (index, state, _sidecar, warn, proxyless) => {
    if (proxyless?.server === undefined) return { listeners: [], clusters: [], routes: [] };
    const { server } = proxyless;
    // STRICT without certificates: no Listener, so the server does not serve at all (never plaintext under STRICT).
    if (state.identity !== undefined && !proxyless.mtls && index.mtlsModeOf(server.service) === 'strict') {
      warn(
        `proxyless server of ${server.service} at ${server.address}:${server.port}: the service is STRICT and the server announces no certificates (TRELLIS_MTLS): not served`,
      );
      return { listeners: [], clusters: [], routes: [] };
    }
    const listener = proxylessServerListener(index, server, proxyless.mtls, state.identity);
    return { listeners: [listener], clusters: [], routes: [] };
  },
  sidecar: (index, state, sidecar, warn) => {
    if (!sidecar) return { listeners: [], clusters: [], routes: [] };
    // An edge gateway: the Gateway's listeners instead of a sidecar's inbound and outbound.
    if (sidecar.gateway !== undefined) return gatewaySocketResources(index, state, sidecar, warn);
    const identity = sidecar.mtls === true ? state.identity : undefined;
    const { listeners, clusters } = sidecarSocketResources(index, sidecar, warn, identity);
    const routes = memoizedResources(
      'outbound-route',
      state,
      (w) => [buildOutboundRouteConfiguration(index, state, w)],
      warn,
    );
    return { listeners, clusters, routes };
  },
  envoy: NONE,
};
