// Test fixtures: small hand-written Envoy v3 objects (one listener → route → EDS cluster → endpoints mesh).
import { EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import type { TranslatedResources } from './translated-resources.ts';

const HCM = typeUrl(EXTENSION_TYPES.httpConnectionManager);
const ROUTER = typeUrl(EXTENSION_TYPES.router);
const ADS = { ads: {}, resource_api_version: 'V3' };

type Obj = Record<string, unknown>;

/** An EDS cluster; serviceName '' means the load assignment is looked up by the cluster name. */
export function edsCluster(name: string, serviceName = name): Obj {
  return {
    name,
    type: 'EDS',
    lb_policy: 'ROUND_ROBIN',
    eds_cluster_config: { eds_config: ADS, service_name: serviceName },
  };
}

export function loadAssignment(name: string, ...ips: string[]): Obj {
  return {
    cluster_name: name,
    endpoints: [
      {
        locality: { zone: 'z1' },
        load_balancing_weight: { value: 1 },
        lb_endpoints: ips.map((ip) => ({
          endpoint: { address: { socket_address: { address: ip, port_value: 8080 } } },
        })),
      },
    ],
  };
}

function hcm(routeName: string): Obj {
  return {
    '@type': HCM,
    stat_prefix: routeName,
    rds: { route_config_name: routeName, config_source: ADS },
    http_filters: [{ name: 'router', typed_config: { '@type': ROUTER } }],
  };
}

/** A gRPC-proxyless style listener: api_listener with an HttpConnectionManager using RDS. */
export function apiListener(name: string, routeName: string): Obj {
  return { name, api_listener: { api_listener: hcm(routeName) } };
}

/** A sidecar style listener: a socket address and a filter chain with an HttpConnectionManager using RDS. */
export function socketListener(name: string, routeName: string, port = 15001): Obj {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [{ filters: [{ name: 'hcm', typed_config: hcm(routeName) }] }],
  };
}

/** A route configuration with one virtual host; a string routes to one cluster, a record splits by weight. */
export function routeConfig(name: string, target: string | Record<string, number>): Obj {
  const route =
    typeof target === 'string'
      ? { cluster: target }
      : {
          weighted_clusters: {
            clusters: Object.entries(target).map(([cluster, weight]) => ({ name: cluster, weight: { value: weight } })),
          },
        };
  return {
    name,
    virtual_hosts: [{ name, domains: ['*'], routes: [{ match: { prefix: '/' }, route }] }],
  };
}

/** A consistent mesh: per service, an API listener, its route configuration, an EDS cluster and endpoints. */
export function mesh(services: Record<string, string[]>): Partial<TranslatedResources> {
  const out: TranslatedResources = { cluster: [], endpoint: [], listener: [], route: [], secret: [] };
  for (const [svc, ips] of Object.entries(services)) {
    out.cluster.push(edsCluster(svc));
    out.endpoint.push(loadAssignment(svc, ...ips));
    out.listener.push(apiListener(svc, `${svc}-route`));
    out.route.push(routeConfig(`${svc}-route`, svc));
  }
  return out;
}
