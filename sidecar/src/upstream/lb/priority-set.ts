// A cluster's hosts by priority level, each level behind its own balancer; Envoy's priority load and panic threshold
// decide which level a pick draws and whether that level balances over its healthy hosts or all of them.
import { pickPriority, priorityPlan } from '../health/host-health.ts';
import type { Host } from '../host/host.ts';
import type { UpstreamHost } from '../host/upstream-host.ts';
import { hashHalves, mod64 } from './hash64.ts';
import type { LoadBalancer, PickContext } from './load-balancer.ts';
import type { Rng } from './rng.ts';

/** The hosts of one priority and their balancer. */
interface PriorityLevel {
  priority: number;
  hosts: UpstreamHost[];
  balancer: LoadBalancer;
  /** Below the panic threshold: the balancer sees every host of the level that is not excluded (EDS DRAINING). */
  panic: boolean;
}

export class PrioritySet {
  private levels: PriorityLevel[] = [];
  /** Percent of picks per level, in level order. */
  private loads: number[] = [];
  private readonly newBalancer: () => LoadBalancer;
  private readonly rng: Rng;
  private readonly hashParts = new Uint32Array(2);

  constructor(newBalancer: () => LoadBalancer, rng: Rng) {
    this.newBalancer = newBalancer;
    this.rng = rng;
  }

  get size(): number {
    return this.levels.length;
  }

  /** Whether `byPriority` holds exactly the current levels with the same hosts in the same order. */
  sameAs(byPriority: ReadonlyMap<number, readonly UpstreamHost[]>): boolean {
    const levels = this.levels;
    if (levels.length !== byPriority.size) return false;
    for (const level of levels) {
      const hosts = byPriority.get(level.priority);
      if (hosts === undefined || hosts.length !== level.hosts.length) return false;
      for (let i = 0; i < hosts.length; i++) if (hosts[i] !== level.hosts[i]) return false;
    }
    return true;
  }

  /** New levels (a level that stays keeps its balancer and its state); call plan() next. */
  setLevels(byPriority: ReadonlyMap<number, UpstreamHost[]>): void {
    const old = new Map(this.levels.map((l) => [l.priority, l.balancer]));
    this.levels = [...byPriority.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([priority, hosts]) => ({
        priority,
        hosts,
        balancer: old.get(priority) ?? this.newBalancer(),
        panic: false,
      }));
  }

  /** Fresh balancers for every level (policy or local zone changed); call plan() next. */
  replaceBalancers(): void {
    for (const level of this.levels) level.balancer = this.newBalancer();
  }

  /**
   * Envoy's priority load (overprovisioning 1.4) and per-level panic from the hosts' health now, then every balancer
   * gets its level's hosts: all of them (bar excluded ones) and `panic` when the level is in panic. Excluded hosts
   * count in neither the healthy nor the total of their level. `panicThresholdPercent` 0 turns panic off.
   */
  plan(panicThresholdPercent: number): void {
    const counts = this.levels.map((l) => {
      let healthy = 0;
      let total = 0;
      for (const h of l.hosts) {
        if (h.excluded) continue;
        total++;
        if (h.healthy) healthy++;
      }
      return { healthy, total };
    });
    const { load, panic } = priorityPlan(counts, panicThresholdPercent);
    this.loads = load;
    this.levels.forEach((level, i) => {
      level.panic = panic[i] === true;
      level.balancer.update(level.panic ? level.hosts.filter((h) => !h.excluded) : level.hosts, level.panic);
    });
  }

  /**
   * A host from the level the plan draws (by ctx.hash when there is one, so a key keeps its level), else from the
   * first level, in order, that has one for this request (not in ctx.avoid when possible).
   */
  pick(ctx: PickContext): Host | undefined {
    const levels = this.levels;
    if (levels.length === 0) return undefined;
    if (levels.length === 1) return (levels[0] as PriorityLevel).balancer.pick(ctx);
    let roll: number;
    if (ctx.hash === undefined) {
      roll = this.rng.next() * 100;
    } else {
      hashHalves(ctx.hash, this.hashParts);
      roll = mod64(this.hashParts[0] as number, this.hashParts[1] as number, 100);
    }
    const chosen = levels[pickPriority(this.loads, roll)] as PriorityLevel;
    const host = chosen.balancer.pick(ctx);
    const avoid = ctx.avoid;
    if (host !== undefined && !avoid?.has(host)) return host;
    let fallback = host;
    for (const level of levels) {
      if (level === chosen) continue;
      const other = level.balancer.pick(ctx);
      if (other === undefined) continue;
      if (!avoid?.has(other)) return other;
      fallback ??= other;
    }
    return fallback;
  }

  /** Percent of picks per priority as last planned. */
  loadsByPriority(): Map<number, number> {
    return new Map(this.levels.map((l, i) => [l.priority, this.loads[i] ?? 0]));
  }

  /** Whether each priority balances in panic, as last planned. */
  panicByPriority(): Map<number, boolean> {
    return new Map(this.levels.map((l) => [l.priority, l.panic]));
  }
}
