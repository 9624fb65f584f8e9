// Listeners: api_listeners (HttpConnectionManager over RDS) that gRPC clients dial by name, plus per-client socket listeners.
import { EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import { faultHttpFilter } from './fault.ts';
import type { MeshIndex } from './mesh-index.ts';
import { byString, listenerNames } from './names.ts';
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
): Record<string, unknown>[] {
  const byName = new Map<string, Record<string, unknown>>();
  for (const svc of index.services) {
    for (const { name, routeConfig } of listenerNames(svc)) {
      if (!byName.has(name)) byName.set(name, apiListener(name, routeConfig, index.faults));
    }
  }
  for (const l of socketListeners) byName.set(String(l['name']), l);
  return [...byName.values()].sort((a, b) => byString(String(a['name']), String(b['name'])));
}
