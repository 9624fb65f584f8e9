// The router's pseudo-random draws (weighted cluster picks, retry back-off jitter, HTTP filter shares): one xorshift32.
import { Rng } from '../../upstream/lb/rng.ts';

const rng = new Rng();

/** A pseudo-random float in [0, 1). */
export function randomFloat(): number {
  return rng.next();
}

/** A pseudo-random integer in [0, n) for n ≥ 1. */
export function randomBelow(n: number): number {
  return rng.below(n);
}

/** Reseeds the generator (tests that want a reproducible sequence). */
export function seedRandom(seed: number): void {
  rng.reseed(seed);
}
