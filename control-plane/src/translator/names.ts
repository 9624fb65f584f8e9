// The naming scheme shared by every translated resource: clusters, EDS names, route configurations, listeners.
import type { ServiceResource } from '../resources/types.ts';

/** Cluster (and EDS service_name) for a service port: `orders|8080`, or `orders|8080|v2` for a subset. */
export function clusterName(service: string, port: number, subset?: string): string {
  return subset === undefined ? `${service}|${port}` : `${service}|${port}|${subset}`;
}

/** RouteConfiguration for a service port, also the name of its api_listener: `orders:8080`. */
export function routeConfigName(service: string, port: number): string {
  return `${service}:${port}`;
}

/** Listener names a gRPC client dials: `orders:8080` for every port, and the bare `orders` for the first port. */
export function listenerNames(service: ServiceResource): { name: string; routeConfig: string }[] {
  const ports = service.spec.ports;
  const out = ports.map((p) => {
    const name = routeConfigName(service.metadata.name, p.port);
    return { name, routeConfig: name };
  });
  const first = ports[0];
  if (first) out.push({ name: service.metadata.name, routeConfig: routeConfigName(service.metadata.name, first.port) });
  return out;
}

/** The Envoy route `name` of a Route rule: `<route-name>/<rule index>`. */
export function ruleRouteName(route: string, ruleIndex: number): string {
  return `${route}/${ruleIndex}`;
}

/** The catch-all route each virtual host ends with. */
export const DEFAULT_ROUTE_NAME = 'default';

export { hostNamesService, splitHost } from '../resources/route-hosts.ts';

/** Compares two strings by code unit order (locale-independent, so output is stable everywhere). */
export function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
