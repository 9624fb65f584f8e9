// Reconnect delays: exponential backoff with full jitter (AWS architecture blog), reset after a healthy stream.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

export class Backoff {
  readonly #opts: BackoffOptions;
  readonly #random: () => number;
  #attempt = 0;

  constructor(opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random) {
    if (!(opts.initialMs > 0) || !(opts.maxMs >= opts.initialMs)) {
      throw new Error(`backoff: expected 0 < initialMs <= maxMs, got ${JSON.stringify(opts)}`);
    }
    this.#opts = opts;
    this.#random = random;
  }

  /** The next delay: uniform in [0, min(maxMs, initialMs * 2^attempt)). */
  next(): number {
    const cap = Math.min(this.#opts.maxMs, this.#opts.initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt += 1;
    return Math.floor(this.#random() * cap);
  }

  /** Starts over from initialMs (after a stream that worked). */
  reset(): void {
    this.#attempt = 0;
  }

  get attempt(): number {
    return this.#attempt;
  }
}
