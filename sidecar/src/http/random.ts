// A fast non-cryptographic PRNG (xorshift32) for weighted cluster picks and retry backoff jitter.
import { randomBytes } from 'node:crypto';

let state = randomBytes(4).readUInt32LE(0) | 1;

/** The next 32-bit unsigned pseudo-random integer. */
export function randomUint32(): number {
  let x = state;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  state = x;
  return x >>> 0;
}

/** A pseudo-random integer in [0, n) for n ≥ 1. */
export function randomBelow(n: number): number {
  return Math.floor((randomUint32() / 4294967296) * n);
}

/** Reseeds the generator (tests that want a reproducible sequence). */
export function seedRandom(seed: number): void {
  state = seed | 0 || 1;
}
