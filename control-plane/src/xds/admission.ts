// Admission of new ADS streams under a connect storm: every stream is accepted, and their first configurations
// are served at a bounded rate (a token bucket, FIFO) and while the server's unanswered bytes are under a budget,
// so a storm queues instead of starving the event loop or filling memory. With no rate (0), the same FIFO gate
// queues later pushes while the budget is spent (xds/server.ts).

export interface AdmissionOptions {
  /** First configurations served per second once the burst is spent (0 or Infinity = no limit). */
  ratePerSecond: number;
  /** How many can be served at once after a quiet period. */
  burst: number;
}

/** 1,000 proxies get their first configuration within 2 s; a single connect is never delayed. */
export const DEFAULT_ADMISSION: AdmissionOptions = { ratePerSecond: 500, burst: 100 };

interface Waiting {
  grant: () => void;
}

/** What else must allow an admission (the server's bytes in flight: in-flight.ts). */
export interface AdmissionGate {
  readonly open: boolean;
  /** When the gate may open without any release (ms from now), or undefined. */
  nextExpiryMs(): number | undefined;
  onRelease(listener: () => void): () => void;
}

export class Admission {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #queue = new Set<Waiting>();
  #tokens: number;
  #refilledAt: number;
  #timer: NodeJS.Timeout | undefined;
  readonly #gate: AdmissionGate | undefined;
  readonly #offGate: (() => void) | undefined;
  /** The last pump stopped at a closed gate: the next release pumps again. */
  #gated = false;

  constructor(opts: Partial<AdmissionOptions> = {}, now: () => number = () => performance.now(), gate?: AdmissionGate) {
    const rate = opts.ratePerSecond ?? DEFAULT_ADMISSION.ratePerSecond;
    this.#rate = rate > 0 ? rate : Number.POSITIVE_INFINITY;
    this.#burst = Math.max(1, opts.burst ?? DEFAULT_ADMISSION.burst);
    this.#now = now;
    this.#tokens = this.#burst;
    this.#refilledAt = now();
    this.#gate = gate;
    this.#offGate = gate?.onRelease(() => {
      if (!this.#gated) return;
      this.#gated = false;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => this.#pump(), 0);
    });
  }

  /** Streams waiting for their turn. */
  get waiting(): number {
    return this.#queue.size;
  }

  /**
   * Calls grant when the stream may get its first configuration: at once when a token is free and nobody waits,
   * else in arrival order. Returns the function that gives up the place (the stream ended first).
   */
  admit(grant: () => void): () => void {
    if (this.#queue.size === 0 && this.#gateOpen() && this.#take()) {
      grant();
      return () => {};
    }
    const waiting: Waiting = { grant };
    this.#queue.add(waiting);
    this.#schedule();
    return () => {
      this.#queue.delete(waiting);
    };
  }

  /** Stops the timer; waiting streams are never granted (the server is closing). */
  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.clear();
    this.#offGate?.();
  }

  #gateOpen(): boolean {
    return this.#gate === undefined || this.#gate.open;
  }

  #take(): boolean {
    if (this.#rate === Number.POSITIVE_INFINITY) return true;
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#refilledAt) * this.#rate) / 1000);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  #schedule(): void {
    if (this.#timer || this.#queue.size === 0) return;
    let wait = Math.max(1, Math.ceil(((1 - this.#tokens) * 1000) / this.#rate));
    if (!this.#gateOpen()) {
      // A release pumps at once; expiry alone opens the gate at the latest then.
      this.#gated = true;
      wait = Math.max(wait, Math.ceil(this.#gate?.nextExpiryMs() ?? 1000));
    }
    this.#timer = setTimeout(() => this.#pump(), wait);
  }

  #pump(): void {
    this.#timer = undefined;
    for (const waiting of this.#queue) {
      if (!this.#gateOpen() || !this.#take()) break;
      this.#queue.delete(waiting);
      waiting.grant();
    }
    this.#schedule();
  }
}
