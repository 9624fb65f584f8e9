// A small seedable PRNG (xorshift32) for balancer picks: no Math.random and no allocation per draw.
import { randomBytes } from 'node:crypto';

/** Uniform draws from a xorshift32 generator; seed it for reproducible tests, leave it unseeded in production. */
export class Rng {
  private state: number;

  /** `seed` 0 or absent: seeded once from the OS. */
  constructor(seed = 0) {
    this.state = seed !== 0 ? seed | 0 || 1 : randomBytes(4).readInt32LE(0) | 1;
  }

  /** Restarts the sequence from `seed` (tests that want it reproducible). */
  reseed(seed: number): void {
    this.state = seed | 0 || 1;
  }

  /** The next unsigned 32-bit value. */
  nextUint32(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x;
    return x >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer in [0, n) for n ≥ 1. */
  below(n: number): number {
    return Math.floor((this.nextUint32() / 4294967296) * n);
  }
}

/** The generator balancers share unless a test hands them their own. */
export const sharedRng = new Rng();
