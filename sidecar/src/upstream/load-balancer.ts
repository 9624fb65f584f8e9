// The LoadBalancer interface every balancing policy implements, and what a pick may use.
import type { Host } from './host.ts';

export interface PickContext {
  /** Hash for consistent-hash policies (from header, cookie, source IP, …), when the route asks for one. */
  hash?: bigint | number;
  /** Hosts to avoid (previous attempts of a retried request). */
  avoid?: ReadonlySet<Host>;
}

export interface LoadBalancer {
  /** Picks a host among the healthy ones; undefined when none is available. */
  pick(ctx: PickContext): Host | undefined;
  /** Replaces the host set (called on every EDS / health change); keeps per-host state for hosts that remain. */
  update(hosts: readonly Host[]): void;
}

/** Builds a balancer for a cluster from its lb config (ring size, choice count, …). */
export type LoadBalancerFactory = (lbConfig: Readonly<Record<string, unknown>>) => LoadBalancer;
