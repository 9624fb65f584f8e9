// Debounces bursts of changes: fires once the changes stop for a quiet period, or at the latest a maximum delay
// after the first change of the burst (Istio's PILOT_DEBOUNCE_AFTER / PILOT_DEBOUNCE_MAX).

export interface DebounceOptions {
  /** Fire this long after the last change of a burst (0 = on the next timer tick). */
  quietMs: number;
  /** Never hold the first change of a burst longer than this (at least quietMs). */
  maxMs: number;
  /** Clock in ms (tests); default performance.now. */
  now?: () => number;
}

/** Collects changes of kind K and hands over the set of kinds seen once the burst is over. */
export class Debouncer<K> {
  readonly #opts: Required<DebounceOptions>;
  readonly #fire: (kinds: ReadonlySet<K>) => void;
  #kinds = new Set<K>();
  #firstAt = 0;
  #lastAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: DebounceOptions, fire: (kinds: ReadonlySet<K>) => void) {
    this.#opts = {
      quietMs: Math.max(0, opts.quietMs),
      maxMs: Math.max(opts.quietMs, opts.maxMs),
      now: opts.now ?? (() => performance.now()),
    };
    this.#fire = fire;
  }

  /** Whether changes are waiting to be handed over. */
  get pending(): boolean {
    return this.#kinds.size > 0;
  }

  /** A change of this kind happened. */
  change(kind: K): void {
    if (this.#closed) return;
    const now = this.#opts.now();
    if (this.#kinds.size === 0) this.#firstAt = now;
    this.#kinds.add(kind);
    this.#lastAt = now;
    // One timer per burst: when it fires early (the burst went on), it re-arms for the remaining time.
    if (!this.#timer) this.#arm(this.#opts.quietMs);
  }

  /** Hands over what is pending now (no-op when nothing is). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#kinds.size === 0) return;
    const kinds = this.#kinds;
    this.#kinds = new Set();
    this.#fire(kinds);
  }

  /** Drops what is pending and ignores later changes. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#kinds.clear();
  }

  #arm(delayMs: number): void {
    this.#timer = setTimeout(() => this.#tick(), delayMs);
  }

  #tick(): void {
    this.#timer = undefined;
    const { quietMs, maxMs, now } = this.#opts;
    const t = now();
    const quietLeft = this.#lastAt + quietMs - t;
    const maxLeft = this.#firstAt + maxMs - t;
    const wait = Math.min(quietLeft, maxLeft);
    // Timers fire up to a ms early or late: within 1 ms of the deadline counts as due.
    if (wait > 1) {
      this.#arm(wait);
      return;
    }
    this.flush();
  }
}
