// What a TrafficPolicy's loadBalancer means once defaults apply: the algorithm in effect and whether it hashes.
import type { LbAlgorithm, LoadBalancer } from './types.ts';

export const LB_ALGORITHMS: readonly LbAlgorithm[] = [
  'ROUND_ROBIN',
  'LEAST_REQUEST',
  'RANDOM',
  'RING_HASH',
  'MAGLEV',
  'LEAST_CONNECTIONS',
  'LEAST_RESPONSE_TIME',
];

/** Algorithms that pick by a request hash (consistentHash / stickySession). */
export const HASH_ALGORITHMS: readonly LbAlgorithm[] = ['RING_HASH', 'MAGLEV'];

/** Ring size bounds: Envoy's and gRPC's defaults; both refuse a ring above 8M entries. */
export const MIN_RING_SIZE = 1024;
export const MAX_RING_SIZE = 8_388_608;

/** Maglev table size: Envoy's default and its upper bound (both prime). */
export const DEFAULT_MAGLEV_TABLE_SIZE = 65_537;
export const MAX_MAGLEV_TABLE_SIZE = 5_000_011;

/** The algorithm a loadBalancer asks for: as written, else RING_HASH for sticky sessions, else ROUND_ROBIN. */
export function effectiveAlgorithm(
  lb: { algorithm?: LbAlgorithm | undefined; stickySession?: unknown } | undefined,
): LbAlgorithm {
  if (lb?.algorithm !== undefined) return lb.algorithm;
  return lb?.stickySession !== undefined ? 'RING_HASH' : 'ROUND_ROBIN';
}

export function isHashAlgorithm(algorithm: LbAlgorithm): boolean {
  return HASH_ALGORITHMS.includes(algorithm);
}

/** The ring size bounds in effect: a lone max below the default minimum pulls the minimum down to it. */
export function ringSizeOf(lb: LoadBalancer | undefined): { min: number; max: number } {
  const max = lb?.ringSize?.max ?? MAX_RING_SIZE;
  return { min: lb?.ringSize?.min ?? Math.min(MIN_RING_SIZE, max), max };
}

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}
