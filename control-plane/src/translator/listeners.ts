// Listeners: api_listeners (HttpConnectionManager over RDS) that gRPC clients dial by name, plus per-client socket listeners.
import { EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import type { RouteResource } from '../resources/types.ts';
import { faultHttpFilter } from './fault.ts';
import type { MeshIndex } from './mesh-index.ts';
import { byString, hostNamesService, listenerNames, routeConfigName, splitHost } from './names.ts';
import { adsConfigSource } from './proto-values.ts';

export const HCM_TYPE_URL = typeUrl(EXTENSION_TYPES.httpConnectionManager);
export const ROUTER_TYPE_URL = typeUrl(EXTENSION_TYPES.router);

/** The HTTP filters of a client-side connection manager: the fault filter when the mesh injects faults, the router. */
export function clientHttpFilters(faults: boolean): Record<string, unknown>[] {
  return faults ? [faultHttpFilter(), ROUTER_FILTER] : [ROUTER_FILTER];
}

/** The router, last in every HTTP filter chain. */
export const ROUTER_FILTER: Readonly<Record<string, unknown>> = {
  name: 'envoy.filters.http.router',
  typed_config: { '@type': ROUTER_TYPE_URL },
};

/** An HttpConnectionManager that fetches its routes by name over ADS; the router filter comes last. */
export function httpConnectionManager(
  statPrefix: string,
  routeConfig: string,
  faults = false,
): Record<string, unknown> {
  return {
    '@type': HCM_TYPE_URL,
    stat_prefix: statPrefix,
    rds: { route_config_name: routeConfig, config_source: adsConfigSource() },
    http_filters: clientHttpFilters(faults),
  };
}

/** The api_listener named `name` (what `xds:///name` resolves), routing through RouteConfiguration `routeConfig`. */
export function apiListener(name: string, routeConfig: string, faults = false): Record<string, unknown> {
  return { name, api_listener: { api_listener: httpConnectionManager(name, routeConfig, faults) } };
}

/**
 * Every listener a client gets: api_listeners for each service port and bare service name, then the socket
 * listeners of its kind (socket-resources.ts), which win a name clash.
 */
export function buildListeners(
  index: MeshIndex,
  socketListeners: readonly Record<string, unknown>[] = [],
  routes: readonly RouteResource[] = [],
): Record<string, unknown>[] {
  const byName = new Map<string, Record<string, unknown>>();
  for (const svc of index.services) {
    for (const { name, routeConfig } of listenerNames(svc)) {
      if (!byName.has(name)) byName.set(name, apiListener(name, routeConfig, index.faults));
    }
  }
  // Longer names Route hosts give a service (`kitchen.shop.svc`, `orders.shop.svc.cluster.local:8080`): a client can
  // dial xds:///<that name>, so each gets a listener too (services' own names win a clash).
  for (const { name, routeConfig } of aliasListenerNames(index, routes)) {
    if (!byName.has(name)) byName.set(name, apiListener(name, routeConfig, index.faults));
  }
  for (const l of socketListeners) byName.set(String(l['name']), l);
  return [...byName.values()].sort((a, b) => byString(String(a['name']), String(b['name'])));
}

/**
 * Listener names for the Route hosts that name a service by a longer name: `host:port` for each of the service's ports
 * (or the one the host gives), and the bare host for the first such port.
 */
function aliasListenerNames(
  index: MeshIndex,
  routes: readonly RouteResource[],
): { name: string; routeConfig: string }[] {
  const out: { name: string; routeConfig: string }[] = [];
  for (const route of routes) {
    for (const h of route.spec.hosts) {
      const { host, port } = splitHost(h);
      const svc = index.services.find((s) => host !== s.metadata.name && hostNamesService(host, s.metadata.name));
      if (svc === undefined) continue;
      const ports = svc.spec.ports.map((p) => p.port).filter((p) => port === undefined || p === port);
      for (const p of ports) out.push({ name: `${host}:${p}`, routeConfig: routeConfigName(svc.metadata.name, p) });
      const first = ports[0];
      if (first !== undefined) out.push({ name: host, routeConfig: routeConfigName(svc.metadata.name, first) });
    }
  }
  return out;
}
