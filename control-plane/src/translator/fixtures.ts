// Test fixtures for the translator: builders for operator resources, endpoints and a small mesh.

import type { ClientKind, SidecarParams } from '@trellis/node-contract';
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import type { TranslatedResources } from '../cache/translated-resources.ts';
import type { Endpoint } from '../registry/endpoint.ts';
import {
  API_VERSION,
  type RouteResource,
  type RouteSpec,
  type ServicePort,
  type ServiceResource,
  type ServiceSpec,
  type TrafficPolicyResource,
  type TrafficPolicySpec,
} from '../resources/types.ts';
import { buildCluster } from './clusters.ts';
import type { ClusterKey } from './mesh-index.ts';
import type { MeshState } from './mesh-state.ts';

export function service(name: string, spec: ServiceSpec): ServiceResource {
  return { apiVersion: API_VERSION, kind: 'Service', metadata: { name }, spec };
}

export function route(name: string, spec: RouteSpec): RouteResource {
  return { apiVersion: API_VERSION, kind: 'Route', metadata: { name }, spec };
}

export function policy(name: string, spec: TrafficPolicySpec): TrafficPolicyResource {
  return { apiVersion: API_VERSION, kind: 'TrafficPolicy', metadata: { name }, spec };
}

export function endpoint(service: string, address: string, port: number, extra: Partial<Endpoint> = {}): Endpoint {
  return { service, address, port, labels: {}, weight: 1, zone: '', source: 'static', ...extra };
}

/** A MeshState; endpoints are grouped by their service. */
export function mesh(parts: {
  services?: ServiceResource[];
  routes?: RouteResource[];
  policies?: TrafficPolicyResource[];
  endpoints?: Endpoint[];
}): MeshState {
  const endpoints = new Map<string, Endpoint[]>();
  for (const ep of parts.endpoints ?? []) endpoints.set(ep.service, [...(endpoints.get(ep.service) ?? []), ep]);
  return { services: parts.services ?? [], routes: parts.routes ?? [], policies: parts.policies ?? [], endpoints };
}

/** orders (HTTP 8080 + GRPC 9090, subsets v1/v2 in two zones) and payments (GRPC 50051), routed with a canary. */
export function shopMesh(): MeshState {
  return mesh({
    services: [
      service('payments', { ports: [{ name: 'grpc', port: 50051, protocol: 'GRPC' }] }),
      service('orders', {
        ports: [
          { name: 'http', port: 8080, protocol: 'HTTP' },
          { name: 'grpc', port: 9090, protocol: 'GRPC' },
        ],
      }),
    ],
    policies: [
      policy('orders', {
        service: 'orders',
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
        loadBalancer: { algorithm: 'LEAST_REQUEST' },
        outlierDetection: { consecutive5xx: 5, interval: '5s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
        connectionPool: { connectTimeout: '1500ms', maxConnections: 100, maxRequests: 1000 },
      }),
    ],
    routes: [
      route('orders', {
        hosts: ['orders', 'orders.shop.svc'],
        http: [
          {
            match: [{ pathPrefix: '/api', headers: { 'x-canary': { exact: '1' } } }],
            rewrite: { pathPrefix: '/' },
            route: [
              { service: 'orders', subset: 'v2', weight: 10 },
              { service: 'orders', subset: 'v1', weight: 90 },
            ],
            timeout: '2s',
            retries: { attempts: 3, perTryTimeout: '500ms', retryOn: ['5xx', 'connect-failure', 'reset'] },
          },
        ],
      }),
    ],
    endpoints: [
      endpoint('orders', '10.0.0.2', 8080, { labels: { version: 'v1' }, zone: 'a' }),
      endpoint('orders', '10.0.0.1', 8080, { labels: { version: 'v1' }, zone: 'b', weight: 3 }),
      endpoint('orders', '10.0.0.3', 8080, { labels: { version: 'v2' }, zone: 'a', weight: 2 }),
      endpoint('payments', '10.0.1.1', 50051),
    ],
  });
}

export const HTTP_PORT: ServicePort = { name: 'http', port: 8080, protocol: 'HTTP' };
export const HTTP2_PORT: ServicePort = { name: 'h2', port: 8443, protocol: 'HTTP2' };
export const GRPC_PORT: ServicePort = { name: 'grpc', port: 9090, protocol: 'GRPC' };
export const TCP_PORT: ServicePort = { name: 'pg', port: 5432, protocol: 'TCP' };

/** The key of cluster `orders|<port>[|<subset>]`. */
export function clusterKey(port: ServicePort, subset?: string): ClusterKey {
  const name = subset ? `orders|${port.port}|${subset}` : `orders|${port.port}`;
  return subset
    ? { name, service: 'orders', port, subset: { name: subset, labels: { version: subset } } }
    : { name, service: 'orders', port };
}

/** buildCluster for service orders, checked to encode as an Envoy Cluster (anyOf names the field that does not). */
export function encodedCluster(
  policy: Omit<TrafficPolicySpec, 'service'> | undefined,
  client: ClientKind,
  port: ServicePort = HTTP_PORT,
  warn: (m: string) => void = () => {},
): Record<string, unknown> {
  const c = buildCluster(clusterKey(port), policy && { service: 'orders', ...policy }, client, warn);
  anyOf(TYPE_URLS.cluster, c);
  return c;
}

/** A sidecar of `service` with its app on 8080 and the usual ports (what translate() gets for a sidecar node). */
export function sidecarParams(service: string): SidecarParams {
  return {
    service,
    appPort: 8080,
    inboundAddress: '0.0.0.0',
    inboundPort: 15006,
    outboundPort: 15001,
    tcpUpstreams: [],
  };
}

type Obj = Record<string, unknown>;

/** Services orders and web (HTTP on 8080) with `rules` as their routes. */
export function ordersAndWeb(rules: RouteResource[]): MeshState {
  return mesh({
    services: [service('orders', { ports: [HTTP_PORT] }), service('web', { ports: [HTTP_PORT] })],
    routes: rules,
  });
}

/** Checks every translated resource encodes as its xDS type (anyOf names the field that does not), then returns them. */
export function encodedAll(res: TranslatedResources): TranslatedResources {
  for (const type of ['cluster', 'endpoint', 'listener', 'route'] as const)
    for (const r of res[type]) anyOf(TYPE_URLS[type], r);
  return res;
}

/** Every route of every virtual host of every route configuration. */
export function routesOf(res: TranslatedResources): Obj[] {
  return res.route.flatMap((rc) => ((rc['virtual_hosts'] as Obj[]) ?? []).flatMap((vh) => vh['routes'] as Obj[]));
}

/** The HttpConnectionManager of a sidecar's outbound listener. */
export function outboundHcm(res: TranslatedResources): Obj {
  const l = res.listener.find((x) => x['name'] === 'outbound') as Obj;
  const chains = l['filter_chains'] as { filters: Obj[] }[];
  return chains[0]?.filters.at(-1)?.['typed_config'] as Obj;
}

/** The names of a connection manager's HTTP filters, in order. */
export function httpFilterNames(hcm: Obj): string[] {
  return (hcm['http_filters'] as Obj[]).map((f) => String(f['name']));
}
