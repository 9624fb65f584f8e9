// The concrete Host the cluster manager keeps per endpoint: identity fixed, weight/locality/health updated in place.
import type { EndpointConfig } from '../../config/model.ts';
import { type Host, type HostLatency, type HostStats, newHostStats } from './host.ts';

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

/** Why a host with EDS health takes no traffic, as Envoy's /clusters health_flags name it. */
export type HostHealthFlag = 'failed_active_hc' | 'failed_outlier_check';

const FLAG_BITS: Readonly<Record<HostHealthFlag, number>> = { failed_active_hc: 1, failed_outlier_check: 2 };

export class UpstreamHost implements Host {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  weight: number;
  zone: string;
  priority: number;
  readonly stats: HostStats = newHostStats();
  latency: HostLatency | undefined = undefined;
  /**
   * Called after `healthy` changes (EDS, health checks, outlier detection, or a plain assignment): the owning cluster
   * re-plans its priority loads and refreshes its balancers on the next pick.
   */
  onHealthChange: ((host: UpstreamHost) => void) | undefined = undefined;
  private eds: boolean;
  private draining: boolean;
  private flags = 0;

  /** The endpoint's transport-socket-match metadata (which of the cluster's transport sockets it takes). */
  transportMatch: Readonly<Record<string, string>> | undefined;

  constructor(endpoint: EndpointConfig, placement: HostPlacement) {
    this.address = endpoint.address;
    this.port = endpoint.port;
    this.key = hostKey(endpoint.address, endpoint.port);
    this.weight = normalizeWeight(endpoint.weight);
    this.zone = placement.zone;
    this.priority = placement.priority;
    this.eds = isHealthyStatus(endpoint.health);
    this.draining = endpoint.health === 'draining';
    this.transportMatch = endpoint.transportMatch;
  }

  /** Takes traffic: EDS says healthy (or unknown) and no health flag is set. */
  get healthy(): boolean {
    return this.eds && this.flags === 0;
  }

  /** Sets the EDS health (what a plain `host.healthy = …` means); flags stay as they are. */
  set healthy(value: boolean) {
    this.setHealth(value, this.flags);
  }

  /** EDS health alone. */
  get edsHealthy(): boolean {
    return this.eds;
  }

  /**
   * EDS DRAINING: the endpoint is leaving. As in Envoy it takes no new traffic even when its priority is in panic,
   * and it counts in neither the healthy nor the total hosts of that priority.
   */
  get excluded(): boolean {
    return this.draining;
  }

  /** Sets or clears one reason to keep the host out (active health checking, outlier detection). */
  setHealthFlag(flag: HostHealthFlag, on: boolean): void {
    const bit = FLAG_BITS[flag];
    this.setHealth(this.eds, on ? this.flags | bit : this.flags & ~bit);
  }

  /**
   * Why the host takes no traffic, in Envoy's order and names: failed_active_hc, failed_outlier_check,
   * failed_eds_health (EDS UNHEALTHY or DRAINING), eds_status_draining; empty when healthy.
   */
  healthFlags(): string[] {
    const out: string[] = [];
    for (const [flag, bit] of Object.entries(FLAG_BITS)) if ((this.flags & bit) !== 0) out.push(flag);
    if (!this.eds) out.push('failed_eds_health');
    if (this.draining) out.push('eds_status_draining');
    return out;
  }

  /** Applies a new EDS view of the same endpoint; returns true when anything a balancer reads changed. */
  apply(endpoint: EndpointConfig, placement: HostPlacement): boolean {
    const weight = normalizeWeight(endpoint.weight);
    const eds = isHealthyStatus(endpoint.health);
    const draining = endpoint.health === 'draining';
    const changed =
      weight !== this.weight ||
      eds !== this.eds ||
      draining !== this.draining ||
      placement.zone !== this.zone ||
      placement.priority !== this.priority;
    this.weight = weight;
    this.zone = placement.zone;
    this.priority = placement.priority;
    this.draining = draining;
    // Which transport socket new connections use (connections open keep theirs).
    this.transportMatch = endpoint.transportMatch;
    this.setHealth(eds, this.flags);
    return changed;
  }

  private setHealth(eds: boolean, flags: number): void {
    const before = this.healthy;
    this.eds = eds;
    this.flags = flags;
    if (this.healthy !== before) this.onHealthChange?.(this);
  }
}

/** Endpoint weights are ≥ 1 (EDS forbids 0); anything else counts as 1. */
function normalizeWeight(weight: number): number {
  return Number.isFinite(weight) && weight >= 1 ? Math.floor(weight) : 1;
}
