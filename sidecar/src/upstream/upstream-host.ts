// The concrete Host the cluster manager keeps per endpoint: identity fixed, weight/locality/health updated in place.
import type { EndpointConfig } from '../config/model.ts';
import { type Host, type HostStats, newHostStats } from './host.ts';

/** `address:port`, with IPv6 literals bracketed (`[::1]:8080`). */
export function hostKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** EDS health as the balancers see it: HEALTHY and UNKNOWN take traffic, UNHEALTHY and DRAINING do not. */
export function isHealthyStatus(health: EndpointConfig['health']): boolean {
  return health === 'healthy' || health === 'unknown';
}

/** Where an endpoint sits in its cluster's load assignment. */
export interface HostPlacement {
  zone: string;
  priority: number;
}

export class UpstreamHost implements Host {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  weight: number;
  zone: string;
  priority: number;
  healthy: boolean;
  readonly stats: HostStats = newHostStats();

  constructor(endpoint: EndpointConfig, placement: HostPlacement) {
    this.address = endpoint.address;
    this.port = endpoint.port;
    this.key = hostKey(endpoint.address, endpoint.port);
    this.weight = normalizeWeight(endpoint.weight);
    this.zone = placement.zone;
    this.priority = placement.priority;
    this.healthy = isHealthyStatus(endpoint.health);
  }

  /** Applies a new EDS view of the same endpoint; returns true when anything a balancer reads changed. */
  apply(endpoint: EndpointConfig, placement: HostPlacement): boolean {
    const weight = normalizeWeight(endpoint.weight);
    const healthy = isHealthyStatus(endpoint.health);
    const changed =
      weight !== this.weight ||
      healthy !== this.healthy ||
      placement.zone !== this.zone ||
      placement.priority !== this.priority;
    this.weight = weight;
    this.healthy = healthy;
    this.zone = placement.zone;
    this.priority = placement.priority;
    return changed;
  }
}

/** Endpoint weights are ≥ 1 (EDS forbids 0); anything else counts as 1. */
function normalizeWeight(weight: number): number {
  return Number.isFinite(weight) && weight >= 1 ? Math.floor(weight) : 1;
}
