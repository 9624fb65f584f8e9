// PickContext.hash as a 64-bit value in two 32-bit halves (what ring hash, Maglev and priority draws read), and
// the per-host anchor hash that sticky cookies carry.
import { xxh64Halves } from './xxhash64.ts';

const TWO32 = 4294967296;

/**
 * Splits a pick hash into out = [hi, lo]. A bigint is taken mod 2^64 (Envoy's 64-bit hash, what hash-key.ts
 * produces). A number is a 32-bit hash (its low 32 bits) placed in the high half, so 32-bit hashes still spread
 * over the whole 64-bit ring instead of piling up below 2^32.
 */
export function hashHalves(hash: bigint | number, out: Uint32Array): void {
  if (typeof hash === 'bigint') {
    out[0] = Number(BigInt.asUintN(32, hash >> 32n));
    out[1] = Number(BigInt.asUintN(32, hash));
  } else {
    out[0] = hash >>> 0;
    out[1] = 0;
  }
}

/** (hi·2^32 + lo) mod m, exactly, for 1 ≤ m ≤ 2^26 (every intermediate stays below 2^53). */
export function mod64(hi: number, lo: number, m: number): number {
  return ((((hi % m) * (TWO32 % m)) % m) + (lo % m)) % m;
}

/** The 64-bit value of two halves as a bigint. */
export function halvesToBigint(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** 16 lower-case hex digits. */
export function hex64(value: bigint): string {
  return BigInt.asUintN(64, value).toString(16).padStart(16, '0');
}

const HEX64 = /^[0-9a-f]{16}$/;

/** The value of exactly 16 lower-case hex digits, else undefined. */
export function parseHex64(s: string): bigint | undefined {
  return HEX64.test(s) ? BigInt(`0x${s}`) : undefined;
}

const anchorOut = new Uint32Array(2);

/**
 * A host's anchor: xxh64(`<address:port>_0`), the first point ring hash gives the host (Envoy's ring key). A pick
 * whose hash equals a host's anchor lands on that host in ring hash (it is one of its ring points) and Maglev (which
 * keeps an anchor index), while the host is healthy; sticky cookies carry it (see hash-key.ts).
 */
export function hostAnchor(key: string): bigint {
  xxh64Halves(`${key}_0`, 0, anchorOut);
  return halvesToBigint(anchorOut[0] as number, anchorOut[1] as number);
}
