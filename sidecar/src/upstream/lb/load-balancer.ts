// The LoadBalancer interface every balancing policy implements, and what a pick may use.
import type { Host } from '../host/host.ts';

export interface PickContext {
  /**
   * Hash for consistent-hash policies (from header, cookie, source IP, …), when the route asks for one. A bigint is
   * a 64-bit hash (what hash-key.ts computes, Envoy-compatible); a number is a 32-bit hash (see hash64.ts).
   */
  hash?: bigint | number;
  /** Hosts to avoid (previous attempts of a retried request). */
  avoid?: ReadonlySet<Host>;
}

export interface LoadBalancer {
  /** Picks a host among the eligible ones (healthy, or all of them in panic); undefined when none is available. */
  pick(ctx: PickContext): Host | undefined;
  /**
   * Replaces the host set (called on every EDS change and, by the cluster, when a host's health changes); keeps
   * per-host state for hosts that remain. `panic` (Envoy's panic threshold, decided per priority level by the
   * cluster): every host given is eligible, healthy or not, until the next update without it.
   */
  update(hosts: readonly Host[], panic?: boolean): void;
  /**
   * True for consistent-hash policies (ring hash, Maglev): the host a hash maps to depends on the whole host set, so
   * wrappers must hand them the whole set (no zone-aware split).
   */
  readonly hashBased?: boolean;
}

/** Builds a balancer for a cluster from its lb config (ring size, choice count, …). */
export type LoadBalancerFactory = (lbConfig: Readonly<Record<string, unknown>>) => LoadBalancer;

/** A finite number from an lb config, else `fallback`. */
export function lbConfigNumber(config: Readonly<Record<string, unknown>>, key: string, fallback: number): number {
  const v = config[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}
