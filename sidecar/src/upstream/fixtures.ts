// Test fixtures: ClusterConfig / load assignment / SidecarConfig builders and host sets for upstream, proxy and admin tests.
import type {
  ClusterConfig,
  ClusterLoadAssignmentConfig,
  EndpointConfig,
  ListenerConfig,
  SidecarConfig,
} from '../config/model.ts';
import { DEFAULT_CIRCUIT_BREAKERS } from './circuit-breaker.ts';
import { type HostPlacement, UpstreamHost } from './host/upstream-host.ts';

/** An EDS cluster reading the load assignment of the same name. */
export function edsCluster(name: string, overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    name,
    discovery: 'eds',
    edsServiceName: name,
    staticEndpoints: [],
    lbPolicy: 'ROUND_ROBIN',
    lbConfig: {},
    connectTimeoutMs: 1000,
    protocol: 'http1',
    circuitBreakers: { ...DEFAULT_CIRCUIT_BREAKERS },
    metadata: {},
    version: '1',
    ...overrides,
  };
}

/** `ip:port` or `ip:port*weight`, optionally `!` for unhealthy, e.g. '10.0.0.1:80*3', '!10.0.0.2:80'. */
export function endpoint(spec: string): EndpointConfig {
  const unhealthy = spec.startsWith('!');
  const [addrPort, weight] = (unhealthy ? spec.slice(1) : spec).split('*');
  const at = (addrPort as string).lastIndexOf(':');
  return {
    address: (addrPort as string).slice(0, at),
    port: Number((addrPort as string).slice(at + 1)),
    weight: weight === undefined ? 1 : Number(weight),
    health: unhealthy ? 'unhealthy' : 'healthy',
  };
}

/** One zone-z1, priority-0 locality with the given endpoint specs. */
export function loadAssignment(clusterName: string, ...specs: string[]): ClusterLoadAssignmentConfig {
  return {
    clusterName,
    localities: [{ zone: 'z1', region: '', priority: 0, weight: 1, endpoints: specs.map(endpoint) }],
    version: specs.join(','),
  };
}

export function sidecarConfig(parts: {
  clusters?: ClusterConfig[];
  endpoints?: ClusterLoadAssignmentConfig[];
  listeners?: ListenerConfig[];
}): SidecarConfig {
  return {
    listeners: new Map((parts.listeners ?? []).map((l) => [l.name, l])),
    routes: new Map(),
    clusters: new Map((parts.clusters ?? []).map((c) => [c.name, c])),
    endpoints: new Map((parts.endpoints ?? []).map((e) => [e.clusterName, e])),
    secrets: new Map(),
  };
}

/** Healthy hosts 10.0.x.y:8080 with the given weights (zone '' and priority 0 unless given), for balancer tests. */
export function testHosts(weights: readonly number[], placement: Partial<HostPlacement> = {}): UpstreamHost[] {
  return weights.map(
    (weight, i) =>
      new UpstreamHost(
        { address: `10.0.${i >> 8}.${i & 255}`, port: 8080, weight, health: 'healthy' },
        { zone: placement.zone ?? '', priority: placement.priority ?? 0 },
      ),
  );
}

/** How many of `picks` draws each host got (undefined counts the picks that found no host). */
export function tally<T>(picks: number, draw: (i: number) => T): Map<T, number> {
  const seen = new Map<T, number>();
  for (let i = 0; i < picks; i++) {
    const h = draw(i);
    seen.set(h, (seen.get(h) ?? 0) + 1);
  }
  return seen;
}
