// A token bucket as Envoy's local rate limit keeps it: starts full, gains tokens_per_fill every fill_interval (whole
// intervals only), never above max_tokens; refilled lazily from the clock, so an idle bucket costs no timer.

import type { TokenBucketSpec } from '../config/model.ts';

export type { TokenBucketSpec };

export class TokenBucket {
  readonly spec: TokenBucketSpec;
  readonly #now: () => number;
  #tokens: number;
  /** Start of the current fill interval. */
  #filledAt: number;

  constructor(spec: TokenBucketSpec, now: () => number = () => performance.now()) {
    this.spec = spec;
    this.#now = now;
    this.#tokens = spec.maxTokens;
    this.#filledAt = now();
  }

  /** Takes one token when there is one. */
  consume(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Tokens left now. */
  get remaining(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Milliseconds until the next fill (at least 1). */
  get msToFill(): number {
    this.#refill();
    return Math.max(1, Math.ceil(this.#filledAt + this.spec.fillIntervalMs - this.#now()));
  }

  #refill(): void {
    const { fillIntervalMs, tokensPerFill, maxTokens } = this.spec;
    const fills = Math.floor((this.#now() - this.#filledAt) / fillIntervalMs);
    if (fills <= 0) return;
    this.#filledAt += fills * fillIntervalMs;
    this.#tokens = Math.min(maxTokens, this.#tokens + fills * tokensPerFill);
  }
}
