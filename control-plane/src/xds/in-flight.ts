// Server-wide bytes of responses written but not yet answered (ACK/NACK): what a connect storm keeps in memory.

export interface InFlightOptions {
  /** New streams are admitted only while fewer bytes than this are unanswered (0 or Infinity = no bound). */
  budgetBytes: number;
  /** After this long an unanswered response stops counting (a client that never answers cannot hold the budget). */
  ttlMs: number;
}

/**
 * 256 MiB: ~400 first configurations of a 10,000-proxy, 50-service mesh (600 KB each) in flight at once; grpc-js keeps
 * a framed copy of each until the socket takes it, so this bounds the storm's memory.
 */
export const DEFAULT_IN_FLIGHT: InFlightOptions = { budgetBytes: 256 * 1024 * 1024, ttlMs: 10_000 };

/** One response's bytes, until it is answered, its stream ends, or it expires. */
export interface Hold {
  readonly bytes: number;
  readonly at: number;
  released: boolean;
}

export class InFlightBudget {
  readonly #budget: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  /**
   * Holds in the order they were taken (expiry pops from the front; released ones are skipped). At most one TTL
   * of holds stays queued behind an unreleased one.
   */
  #queue: Hold[] = [];
  #head = 0;
  #bytes = 0;
  readonly #listeners = new Set<() => void>();

  constructor(opts: Partial<InFlightOptions> = {}, now: () => number = () => performance.now()) {
    const budget = opts.budgetBytes ?? DEFAULT_IN_FLIGHT.budgetBytes;
    this.#budget = budget > 0 ? budget : Number.POSITIVE_INFINITY;
    this.#ttlMs = opts.ttlMs ?? DEFAULT_IN_FLIGHT.ttlMs;
    this.#now = now;
  }

  /** Unanswered bytes that still count. */
  get bytes(): number {
    this.#expire();
    return this.#bytes;
  }

  /** Holds still queued, released ones included until they reach the front (tests). */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** Whether there is room for another stream's first configuration. */
  get open(): boolean {
    return this.bytes < this.#budget;
  }

  /** When the bytes that count will next go down by expiry alone (ms from now), or undefined. */
  nextExpiryMs(): number | undefined {
    this.#expire();
    for (let i = this.#head; i < this.#queue.length; i++) {
      const h = this.#queue[i]!;
      if (!h.released) return Math.max(0, h.at + this.#ttlMs - this.#now());
    }
    return undefined;
  }

  hold(bytes: number): Hold {
    // Released and expired holds leave the queue here too, so it stays bounded without admissions or scrapes.
    this.#expire();
    const h: Hold = { bytes, at: this.#now(), released: false };
    this.#queue.push(h);
    this.#bytes += bytes;
    return h;
  }

  /** Gives the bytes back (idempotent); listeners hear of it. */
  release(h: Hold): void {
    if (h.released) return;
    h.released = true;
    this.#bytes -= h.bytes;
    for (const l of [...this.#listeners]) l();
  }

  /** Called whenever bytes are given back. */
  onRelease(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #expire(): void {
    const oldest = this.#now() - this.#ttlMs;
    while (this.#head < this.#queue.length) {
      const h = this.#queue[this.#head]!;
      if (!h.released) {
        if (h.at > oldest) break;
        h.released = true;
        this.#bytes -= h.bytes;
      }
      this.#head += 1;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}
