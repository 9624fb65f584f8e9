// Test fixtures: Envoy v3 objects as the control plane emits them, round-tripped through the protos like xDS does.
import { anyOf, decodeAny, EXTENSION_TYPES, TYPE_URLS, typeUrl, type XdsTypeKey } from '@trellis/xds-protos';

type Obj = Record<string, unknown>;

export const HCM = typeUrl(EXTENSION_TYPES.httpConnectionManager);
export const ROUTER = typeUrl(EXTENSION_TYPES.router);
export const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

/** Encodes an object as the xDS type (schema-checked) and decodes it back: exactly what the client sees. */
export function wire(type: XdsTypeKey, object: Obj): Obj {
  return decodeAny(anyOf(TYPE_URLS[type], object));
}

export const routerFilter = (): Obj => ({ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } });

/** An HttpConnectionManager config over RDS (or with `extra` replacing parts). */
export function hcm(routeConfigName: string, extra: Obj = {}): Obj {
  return {
    '@type': HCM,
    stat_prefix: 'outbound',
    codec_type: 'AUTO',
    rds: { route_config_name: routeConfigName, config_source: { ads: {}, resource_api_version: 'V3' } },
    http_filters: [routerFilter()],
    ...extra,
  };
}

/** A socket listener whose one filter chain holds `typedConfig`. */
export function socketListener(name: string, typedConfig: Obj, extra: Obj = {}): Obj {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
    filter_chains: [{ filters: [{ name: 'f', typed_config: typedConfig }] }],
    ...extra,
  };
}

/** A route configuration with one virtual host of the given routes. */
export function routeConfiguration(name: string, routes: Obj[], domains: string[] = ['*']): Obj {
  return { name, virtual_hosts: [{ name: 'vh', domains, routes }] };
}

/** An EDS cluster over ADS. */
export function edsCluster(name: string, extra: Obj = {}): Obj {
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name },
    connect_timeout: { seconds: 1, nanos: 0 },
    ...extra,
  };
}

/** A load assignment with one locality (zone a) of `ip:port` endpoints. */
export function loadAssignment(name: string, ...endpoints: string[]): Obj {
  return {
    cluster_name: name,
    endpoints: [
      {
        locality: { zone: 'a' },
        load_balancing_weight: { value: endpoints.length || 1 },
        lb_endpoints: endpoints.map((e) => {
          const [address, port] = e.split(':');
          return {
            endpoint: { address: { socket_address: { address, port_value: Number(port) } } },
            health_status: 'HEALTHY',
          };
        }),
      },
    ],
  };
}
