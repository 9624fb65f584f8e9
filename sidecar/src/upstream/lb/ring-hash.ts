// Ring hash (Envoy's ketama-style consistent hashing): host points on a 64-bit ring, a pick takes the next point.

import type { Host } from '../host/host.ts';
import { hashHalves } from './hash64.ts';
import type { LbRegistry } from './lb-registry.ts';
import { type LoadBalancer, lbConfigNumber, type PickContext } from './load-balancer.ts';
import { type Rng, sharedRng } from './rng.ts';
import { xxh64Halves } from './xxhash64.ts';

export const DEFAULT_MIN_RING_SIZE = 1024;
/** Envoy's and gRPC's cap. */
export const MAX_RING_SIZE = 8_388_608;

export interface RingHashOptions {
  minimumRingSize?: number;
  maximumRingSize?: number;
  rng?: Rng;
}

/**
 * The ring is built the way Envoy builds it, so a key lands on the same endpoint as it would behind Envoy: the
 * healthy hosts' weights are normalized, scaled so the lightest host gets ⌈min_ring_size·w_min⌉ points (capped
 * at max_ring_size), and host i contributes points xxh64("<address:port>_<n>") for n = 0, 1, … by running sums,
 * then the points are sorted. A pick takes the first point ≥ the request hash (wrapping). Removing one of N equal
 * hosts moves only the keys on its arcs, ≈1/N of them.
 *
 * The ring holds the hosts healthy at update() (all of them in panic, see LoadBalancer.update); the cluster calls
 * update() again when health changes. Between
 * those, a pick that lands on a host gone unhealthy (or in ctx.avoid) walks on to the next point of another host,
 * like Envoy's retry walk. Without a hash a pick takes a random point (so weights still hold).
 * hashFunction MURMUR_HASH_2 is not implemented: such clusters hash with xxHash too (consistent, but the points
 * differ from Envoy's).
 */
export class RingHashBalancer implements LoadBalancer {
  readonly hashBased = true;
  private readonly minSize: number;
  private readonly maxSize: number;
  private readonly rng: Rng;
  /** Healthy hosts the ring was built from; ring entries index into it. */
  private hosts: Host[] = [];
  private ringHi: Uint32Array = new Uint32Array(0);
  private ringLo: Uint32Array = new Uint32Array(0);
  private ringHost: Uint32Array = new Uint32Array(0);
  private signature = '';
  private readonly query = new Uint32Array(2);

  /** Every host given to update() is eligible, healthy or not (the level is in panic). */
  private panic = false;

  constructor(options: RingHashOptions = {}) {
    const max = clampInt(options.maximumRingSize, MAX_RING_SIZE, 1, MAX_RING_SIZE);
    this.maxSize = max;
    this.minSize = Math.min(clampInt(options.minimumRingSize, DEFAULT_MIN_RING_SIZE, 1, MAX_RING_SIZE), max);
    this.rng = options.rng ?? sharedRng;
  }

  update(hosts: readonly Host[], panic = false): void {
    this.panic = panic;
    const eligible = hosts.filter((h) => panic || h.healthy);
    const signature = eligible.map((h) => `${h.key}*${h.weight}`).join(',');
    if (signature === this.signature && eligible.length === this.hosts.length) {
      this.hosts = eligible; // same keys and weights: same ring; keep the (possibly new) objects
      return;
    }
    this.signature = signature;
    this.build(eligible);
  }

  /** Ring size actually built (tests, admin). */
  size(): number {
    return this.ringHost.length;
  }

  pick(ctx: PickContext): Host | undefined {
    const n = this.ringHost.length;
    if (n === 0) return undefined;
    let start: number;
    if (ctx.hash === undefined) {
      start = this.rng.below(n);
    } else {
      hashHalves(ctx.hash, this.query);
      start = this.lowerBound(this.query[0] as number, this.query[1] as number);
    }
    const avoid = ctx.avoid !== undefined && ctx.avoid.size > 0 ? ctx.avoid : undefined;
    return this.walk(start, avoid) ?? (avoid !== undefined ? this.walk(start, undefined) : undefined);
  }

  /** Index of the first point ≥ (hi, lo), 0 past the end (the ring wraps). */
  private lowerBound(hi: number, lo: number): number {
    const rh = this.ringHi;
    const rl = this.ringLo;
    let a = 0;
    let b = rh.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const mh = rh[mid] as number;
      if (mh < hi || (mh === hi && (rl[mid] as number) < lo)) a = mid + 1;
      else b = mid;
    }
    return a === rh.length ? 0 : a;
  }

  /** The first eligible host from ring position `start` on; after a few laps' worth of points, a plain scan. */
  private walk(start: number, avoid: ReadonlySet<Host> | undefined): Host | undefined {
    const ring = this.ringHost;
    const hosts = this.hosts;
    const n = ring.length;
    const limit = Math.min(n, 4 * hosts.length + 16);
    for (let k = 0, i = start; k < limit; k++, i = i + 1 === n ? 0 : i + 1) {
      const host = hosts[ring[i] as number] as Host;
      if ((this.panic || host.healthy) && !avoid?.has(host)) return host;
    }
    if (limit === n) return undefined;
    const first = ring[start] as number;
    for (let k = 1; k < hosts.length; k++) {
      const host = hosts[(first + k) % hosts.length] as Host;
      if ((this.panic || host.healthy) && !avoid?.has(host)) return host;
    }
    return undefined;
  }

  private build(healthy: Host[]): void {
    this.hosts = healthy;
    let total = 0;
    for (const h of healthy) total += Math.max(h.weight, 1);
    if (healthy.length === 0) {
      this.ringHi = new Uint32Array(0);
      this.ringLo = new Uint32Array(0);
      this.ringHost = new Uint32Array(0);
      return;
    }
    let minWeight = 1;
    for (const h of healthy) minWeight = Math.min(minWeight, Math.max(h.weight, 1) / total);
    const scale = Math.min(Math.ceil(minWeight * this.minSize) / minWeight, this.maxSize);
    const size = Math.ceil(scale);
    const hi = new Uint32Array(size);
    const lo = new Uint32Array(size);
    const owner = new Uint32Array(size);
    const out = new Uint32Array(2);
    let current = 0;
    let target = 0;
    let count = 0;
    for (let i = 0; i < healthy.length; i++) {
      const host = healthy[i] as Host;
      target += (scale * Math.max(host.weight, 1)) / total;
      const prefix = `${host.key}_`;
      for (let n = 0; current < target && count < size; n++, current++, count++) {
        xxh64Halves(prefix + n, 0, out);
        hi[count] = out[0] as number;
        lo[count] = out[1] as number;
        owner[count] = i;
      }
    }
    const order = new Uint32Array(count);
    for (let i = 0; i < count; i++) order[i] = i;
    order.sort((a, b) => (hi[a] as number) - (hi[b] as number) || (lo[a] as number) - (lo[b] as number));
    this.ringHi = new Uint32Array(count);
    this.ringLo = new Uint32Array(count);
    this.ringHost = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      const j = order[i] as number;
      this.ringHi[i] = hi[j] as number;
      this.ringLo[i] = lo[j] as number;
      this.ringHost[i] = owner[j] as number;
    }
  }
}

function clampInt(v: number | undefined, fallback: number, min: number, max: number): number {
  return v !== undefined && Number.isFinite(v) ? Math.min(Math.max(Math.floor(v), min), max) : fallback;
}

/** Registers RING_HASH (lbConfig { minimumRingSize, maximumRingSize, hashFunction } from the CDS decoder). */
export function setup(registry: LbRegistry): void {
  registry.register(
    'RING_HASH',
    (config) =>
      new RingHashBalancer({
        minimumRingSize: lbConfigNumber(config, 'minimumRingSize', DEFAULT_MIN_RING_SIZE),
        maximumRingSize: lbConfigNumber(config, 'maximumRingSize', MAX_RING_SIZE),
      }),
  );
}
