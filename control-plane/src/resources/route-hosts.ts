// Which service ports a Route addresses: its hosts (`orders`, `orders.shop.svc:8080`) name a service by its bare name
// or a DNS-style name whose first label is the service, on one port or all. The translator joins the rules of every
// Route addressing a port (in name order); analyze reads the same.
import type { RouteResource } from './types.ts';

/** `host:port` split (no port: undefined). */
export function splitHost(host: string): { host: string; port?: number } {
  const m = /^(.*):(\d+)$/.exec(host);
  if (!m) return { host };
  return { host: m[1] as string, port: Number(m[2]) };
}

/**
 * Whether a Route host (port already split off) names a service: the bare name (`orders`) or a DNS-style
 * name whose first label is the service (`orders.shop.svc.cluster.local`).
 */
export function hostNamesService(host: string, service: string): boolean {
  return host === service || host.startsWith(`${service}.`);
}

/** Whether a Route applies to the mesh's sidecars (no `gateways`, or a list naming `mesh`), not only to gateways. */
export function appliesToMesh(route: RouteResource): boolean {
  return route.spec.gateways === undefined || route.spec.gateways.includes('mesh');
}

/** The hosts (port split off) of a Route that address this service port (none for a gateway-only Route). */
export function routeHostsFor(route: RouteResource, service: string, port: number): string[] {
  if (!appliesToMesh(route)) return [];
  const out: string[] = [];
  for (const h of route.spec.hosts) {
    const { host, port: hostPort } = splitHost(h);
    if (hostNamesService(host, service) && (hostPort === undefined || hostPort === port)) out.push(host);
  }
  return out;
}
