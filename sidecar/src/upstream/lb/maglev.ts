// Maglev consistent hashing (Google's Maglev paper, Envoy's table): a prime-sized lookup table filled by host permutations.

import type { Host } from '../host/host.ts';
import { hashHalves, hostAnchor, mod64 } from './hash64.ts';
import type { LbRegistry } from './lb-registry.ts';
import { type LoadBalancer, lbConfigNumber, type PickContext } from './load-balancer.ts';
import { type Rng, sharedRng } from './rng.ts';
import { xxh64Halves } from './xxhash64.ts';

export const DEFAULT_TABLE_SIZE = 65537;
/** Envoy's upper bound for table_size; also keeps mod64() exact. */
export const MAX_TABLE_SIZE = 5_000_011;

export interface MaglevOptions {
  /** Rounded up to a prime (Maglev needs one); default 65537. */
  tableSize?: number;
  rng?: Rng;
}

/**
 * The table is filled as Envoy fills it: healthy hosts (all hosts in panic) sorted by key, each with
 * offset = xxh64(key) mod M and skip = xxh64(key, seed 1) mod (M−1) + 1, take turns claiming the next free slot
 * of their permutation offset, offset+skip, offset+2·skip, …; with unequal weights a host takes a turn only when
 * its running share (iteration · w/w_max) has caught up. A pick reads table[hash mod M]. Removing one of N hosts
 * reassigns its ≈M/N slots plus a few others disturbed by the refill (Maglev trades a little more disruption than
 * ring hash for an even spread and O(1) lookups).
 *
 * Between updates, a pick that lands on a host gone unhealthy or in ctx.avoid retries with Envoy's retry hash
 * (hash XOR (2^64 − attempt)); without a hash it takes a random slot. Hashes equal to a host's anchor (sticky
 * cookies, see hash64.ts) go to that host while it is in the table.
 */
export class MaglevBalancer implements LoadBalancer {
  readonly hashBased = true;
  private readonly size: number;
  private readonly rng: Rng;
  private hosts: Host[] = [];
  private table: Uint32Array = new Uint32Array(0);
  private anchors = new Map<bigint, number>();
  private signature = '';
  private readonly query = new Uint32Array(2);

  /** Every host given to update() is eligible, healthy or not (the level is in panic). */
  private panic = false;

  constructor(options: MaglevOptions = {}) {
    const wanted = Math.floor(options.tableSize ?? DEFAULT_TABLE_SIZE);
    this.size = nextPrime(Math.min(Math.max(Number.isFinite(wanted) ? wanted : DEFAULT_TABLE_SIZE, 2), MAX_TABLE_SIZE));
    this.rng = options.rng ?? sharedRng;
  }

  /** The table size in use (a prime). */
  tableSize(): number {
    return this.size;
  }

  update(hosts: readonly Host[], panic = false): void {
    this.panic = panic;
    const eligible = hosts
      .filter((h) => panic || h.healthy)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const signature = eligible.map((h) => `${h.key}*${h.weight}`).join(',');
    if (signature === this.signature) {
      this.hosts = eligible;
      return;
    }
    this.signature = signature;
    this.build(eligible);
  }

  pick(ctx: PickContext): Host | undefined {
    const hosts = this.hosts;
    if (hosts.length === 0) return undefined;
    const avoid = ctx.avoid !== undefined && ctx.avoid.size > 0 ? ctx.avoid : undefined;
    const hash = ctx.hash;
    if (typeof hash === 'bigint' && this.anchors.size > 0) {
      const i = this.anchors.get(BigInt.asUintN(64, hash));
      if (i !== undefined) {
        const host = hosts[i] as Host;
        if ((this.panic || host.healthy) && !avoid?.has(host)) return host;
      }
    }
    let hi: number;
    let lo: number;
    if (hash === undefined) {
      hi = this.rng.nextUint32();
      lo = this.rng.nextUint32();
    } else {
      hashHalves(hash, this.query);
      hi = this.query[0] as number;
      lo = this.query[1] as number;
    }
    const host = hosts[this.table[mod64(hi, lo, this.size)] as number] as Host;
    if ((this.panic || host.healthy) && !avoid?.has(host)) return host;
    return this.retry(hi, lo, avoid) ?? (avoid !== undefined ? this.retry(hi, lo, undefined) : undefined);
  }

  /** Envoy's retry hashes for attempts 1, 2, …; then a scan from the first choice. */
  private retry(hi: number, lo: number, avoid: ReadonlySet<Host> | undefined): Host | undefined {
    const hosts = this.hosts;
    const attempts = 2 * hosts.length + 8;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const host = hosts[
        this.table[mod64(~hi >>> 0, (lo ^ (4294967296 - attempt)) >>> 0, this.size)] as number
      ] as Host;
      if ((this.panic || host.healthy) && !avoid?.has(host)) return host;
    }
    const first = this.table[mod64(hi, lo, this.size)] as number;
    for (let k = 0; k < hosts.length; k++) {
      const host = hosts[(first + k) % hosts.length] as Host;
      if ((this.panic || host.healthy) && !avoid?.has(host)) return host;
    }
    return undefined;
  }

  private build(healthy: Host[]): void {
    this.hosts = healthy;
    this.anchors = new Map(healthy.map((h, i) => [hostAnchor(h.key), i]));
    const m = this.size;
    const n = healthy.length;
    if (n === 0) {
      this.table = new Uint32Array(0);
      return;
    }
    const out = new Uint32Array(2);
    const position = new Float64Array(n);
    const skip = new Float64Array(n);
    const weight = new Float64Array(n);
    const target = new Float64Array(n);
    let total = 0;
    for (const h of healthy) total += Math.max(h.weight, 1);
    let maxWeight = 0;
    for (let i = 0; i < n; i++) {
      const key = (healthy[i] as Host).key;
      xxh64Halves(key, 0, out);
      position[i] = mod64(out[0] as number, out[1] as number, m);
      xxh64Halves(key, 1, out);
      skip[i] = mod64(out[0] as number, out[1] as number, m - 1) + 1;
      weight[i] = Math.max((healthy[i] as Host).weight, 1) / total;
      maxWeight = Math.max(maxWeight, weight[i] as number);
    }
    const EMPTY = 0xffffffff;
    const table = new Uint32Array(m).fill(EMPTY);
    let filled = 0;
    for (let iteration = 1; filled < m; iteration++) {
      for (let i = 0; i < n && filled < m; i++) {
        if (iteration * (weight[i] as number) < (target[i] as number)) continue;
        target[i] = (target[i] as number) + maxWeight;
        let c = position[i] as number;
        while (table[c] !== EMPTY) c = (c + (skip[i] as number)) % m;
        table[c] = i;
        position[i] = (c + (skip[i] as number)) % m;
        filled++;
      }
    }
    this.table = table;
  }
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/** The smallest prime ≥ n. */
export function nextPrime(n: number): number {
  let p = Math.max(2, Math.ceil(n));
  while (!isPrime(p)) p++;
  return p;
}

/** Registers MAGLEV (lbConfig { tableSize } from the CDS decoder). */
export function setup(registry: LbRegistry): void {
  registry.register(
    'MAGLEV',
    (config) => new MaglevBalancer({ tableSize: lbConfigNumber(config, 'tableSize', DEFAULT_TABLE_SIZE) }),
  );
}
