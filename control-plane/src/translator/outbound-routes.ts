// A sidecar's outbound RouteConfiguration: one virtual host per service port, each opening with a CONNECT route.
import { duration } from '@trellis/xds-protos';
import type { MeshIndex } from './mesh-index.ts';
import type { MeshState } from './mesh-state.ts';
import { byString, clusterName } from './names.ts';
import { portRoutes, type Warn } from './routes.ts';

/** The RouteConfiguration the outbound listener's HttpConnectionManager fetches over RDS. */
export const OUTBOUND_ROUTE_CONFIG = 'outbound';

/** The route that terminates CONNECT tunnels to a port's cluster (grpc-js behind http_proxy, any TCP client). */
export const CONNECT_ROUTE_NAME = 'connect';

/** A route timeout of 0 disables Envoy's 15s default, which would cut long gRPC streams and tunnels. */
const NO_TIMEOUT = duration(0);

function connectRoute(cluster: string): Record<string, unknown> {
  return {
    name: CONNECT_ROUTE_NAME,
    match: { connect_matcher: {} },
    route: { cluster, upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }], timeout: NO_TIMEOUT },
  };
}

/** Routes without a rule timeout get timeout 0 (none), as Istio does for sidecars. */
function withoutDefaultTimeout(route: Record<string, unknown>): Record<string, unknown> {
  const action = route['route'] as Record<string, unknown> | undefined;
  if (!action || action['timeout'] !== undefined) return route;
  return { ...route, route: { ...action, timeout: NO_TIMEOUT } };
}

/**
 * The outbound RouteConfiguration: a virtual host `svc:port` per service port with domains `svc:port`, the bare
 * `svc` for the service's first port only, and Route host aliases (bare aliases go to the first port listing them).
 * Envoy rejects a domain listed by two virtual hosts, so each domain is kept only where it first appears.
 */
export function buildOutboundRouteConfiguration(
  index: MeshIndex,
  state: MeshState,
  warn: Warn,
): Record<string, unknown> {
  const routes = [...state.routes].sort((a, b) => byString(a.metadata.name, b.metadata.name));
  const claimed = new Set<string>();
  const virtualHosts: Record<string, unknown>[] = [];
  for (const svc of index.services) {
    const service = svc.metadata.name;
    const seen = new Set<number>();
    for (const [i, { port }] of svc.spec.ports.entries()) {
      if (seen.has(port)) continue;
      seen.add(port);
      const parts = portRoutes(svc, port, routes, index, 'sidecar', warn);
      const candidates = [`${service}:${port}`, ...(i === 0 ? [service] : [])];
      for (const h of parts.aliases) candidates.push(h, `${h}:${port}`);
      const domains: string[] = [];
      for (const d of candidates) {
        if (claimed.has(d)) continue;
        claimed.add(d);
        domains.push(d);
      }
      virtualHosts.push({
        name: `${service}:${port}`,
        domains,
        routes: [connectRoute(clusterName(service, port)), ...parts.routes.map(withoutDefaultTimeout)],
      });
    }
  }
  return { name: OUTBOUND_ROUTE_CONFIG, virtual_hosts: virtualHosts };
}
