// Pure rules for which hosts take traffic: a host's effective health (EDS && active HC && not ejected), and Envoy's
// priority load with the panic threshold (a priority too unhealthy balances across all its hosts).
import type { Host } from '../host/host.ts';

/** Active health checking as host-health reads it (HealthChecker implements it). */
export interface ActiveHealth {
  isHealthy(host: Host): boolean;
}

/** Outlier ejection as host-health reads it (OutlierDetector implements it). */
export interface Ejections {
  isEjected(host: Host): boolean;
}

export interface HealthSources {
  /** The EDS health_status verdict; `host.healthy` when absent (what UpstreamHost sets from EDS). */
  edsHealthy?: boolean;
  active?: ActiveHealth | undefined;
  outlier?: Ejections | undefined;
}

/** Envoy's defaults: 50% panic threshold, overprovisioning factor 1.4 (140). */
export const DEFAULT_PANIC_THRESHOLD_PERCENT = 50;
export const DEFAULT_OVERPROVISIONING_FACTOR = 140;

/** EDS health && active health check passing && not ejected by outlier detection. */
export function effectiveHealth(host: Host, sources: HealthSources): boolean {
  if (!(sources.edsHealthy ?? host.healthy)) return false;
  if (sources.active !== undefined && !sources.active.isHealthy(host)) return false;
  return sources.outlier === undefined || !sources.outlier.isEjected(host);
}

/** Envoy isHostSetInPanic: the healthy share of a priority (0 when empty) is below the threshold (0 = never). */
export function inPanic(healthy: number, total: number, thresholdPercent: number): boolean {
  const healthyPercent = total === 0 ? 0 : (100 * healthy) / total;
  return healthyPercent < Math.min(100, thresholdPercent);
}

/** A priority's hosts as a balancer should see them: the healthy ones, or every one of them in panic. */
export function hostsToBalance<T>(hosts: readonly T[], isHealthy: (host: T) => boolean, panic: boolean): T[] {
  return panic ? hosts.slice() : hosts.filter(isHealthy);
}

/** One priority level: how many of its hosts are healthy. */
export interface PriorityCounts {
  healthy: number;
  total: number;
}

/** Percent of requests per priority (sums to 100) and whether each priority balances in panic. */
export interface PriorityPlan {
  load: number[];
  panic: boolean[];
}

/**
 * Envoy's priority load (LoadBalancerBase::recalculatePerPriorityState / Panic): each priority's health is
 * min(100, overprovisioning × healthy / total); load goes to priorities in order, scaled by the normalized total
 * health, leftovers to the first healthy priority. When the total health is 100 nobody panics; otherwise a priority
 * below the panic threshold balances across all its hosts, and when every priority is in panic the load follows
 * host counts. With panic disabled and no healthy host, P0 gets the load (and finds no host).
 */
export function priorityPlan(
  levels: readonly PriorityCounts[],
  panicThresholdPercent = DEFAULT_PANIC_THRESHOLD_PERCENT,
  overprovisioningFactor = DEFAULT_OVERPROVISIONING_FACTOR,
): PriorityPlan {
  const n = levels.length;
  const load = new Array<number>(n).fill(0);
  const panic = new Array<boolean>(n).fill(false);
  if (n === 0) return { load, panic };
  const health = levels.map((l) =>
    l.total === 0 ? 0 : Math.min(100, Math.floor((overprovisioningFactor * l.healthy) / l.total)),
  );
  const totalHealth = Math.min(
    100,
    health.reduce((a, b) => a + b, 0),
  );
  if (totalHealth > 0) {
    let remaining = 100;
    let first = -1;
    for (let i = 0; i < n; i++) {
      const h = health[i] as number;
      if (first < 0 && h > 0) first = i;
      const share = Math.min(remaining, Math.floor((h * 100) / totalHealth));
      load[i] = share;
      remaining -= share;
    }
    if (remaining > 0 && first >= 0) load[first] = (load[first] as number) + remaining;
  }
  const threshold = Math.min(100, panicThresholdPercent);
  if (threshold <= 0 && totalHealth === 0) {
    load[0] = 100;
    return { load, panic };
  }
  for (let i = 0; i < n; i++) {
    const l = levels[i] as PriorityCounts;
    panic[i] = totalHealth === 100 ? false : inPanic(l.healthy, l.total, threshold);
  }
  if (panic.every(Boolean)) loadInTotalPanic(levels, load);
  return { load, panic };
}

/** Every priority in panic: load in proportion to host counts (all of it to P0 when there are no hosts). */
function loadInTotalPanic(levels: readonly PriorityCounts[], load: number[]): void {
  const hosts = levels.reduce((a, l) => a + l.total, 0);
  load.fill(0);
  if (hosts === 0) {
    load[0] = 100;
    return;
  }
  let remaining = 100;
  let first = -1;
  for (let i = 0; i < levels.length; i++) {
    const total = (levels[i] as PriorityCounts).total;
    if (first < 0 && total > 0) first = i;
    const share = Math.floor((100 * total) / hosts);
    load[i] = share;
    remaining -= share;
  }
  load[first] = (load[first] as number) + remaining;
}

/** The priority a request goes to, for `roll` uniform in [0, 100) (Envoy choosePriority over the cumulative load). */
export function pickPriority(load: readonly number[], roll: number): number {
  let acc = 0;
  for (let i = 0; i < load.length; i++) {
    acc += load[i] as number;
    if (roll < acc) return i;
  }
  return 0;
}
