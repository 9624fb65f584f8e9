// A least-recently-used map bounded by the bytes its entries account for (the control plane's encoding caches).

interface Entry<V> {
  value: V;
  /** When it was last set or read (the owner's clock). */
  usedAt: number;
}

export class ByteLru<V> {
  readonly #maxBytes: number;
  readonly #size: (key: string, value: V) => number;
  readonly #now: () => number;
  /** Insertion order is recency order: a hit moves its entry to the end, eviction starts at the front. */
  readonly #entries = new Map<string, Entry<V>>();
  #bytes = 0;

  /** `size` says what an entry accounts for (its key included, as the owner counts it). */
  constructor(maxBytes: number, size: (key: string, value: V) => number, now: () => number = () => performance.now()) {
    this.#maxBytes = maxBytes;
    this.#size = size;
    this.#now = now;
  }

  /** The value for key, now the most recently used; undefined on a miss. */
  get(key: string): V | undefined {
    const hit = this.#entries.get(key);
    if (hit === undefined) return undefined;
    this.#entries.delete(key);
    hit.usedAt = this.#now();
    this.#entries.set(key, hit);
    return hit.value;
  }

  /** Keeps value (unless it alone is over the bound), dropping the least recently used entries past it. */
  set(key: string, value: V): void {
    const size = this.#size(key, value);
    if (size > this.#maxBytes) return;
    const old = this.#entries.get(key);
    if (old !== undefined) {
      this.#entries.delete(key);
      this.#bytes -= this.#size(key, old.value);
    }
    this.#entries.set(key, { value, usedAt: this.#now() });
    this.#bytes += size;
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#drop(oldest, entry);
    }
  }

  /** Drops the entries not used for idleMs (least recently used first); returns how many went. */
  expire(idleMs: number): number {
    const cutoff = this.#now() - idleMs;
    let dropped = 0;
    for (const [key, entry] of this.#entries) {
      if (entry.usedAt > cutoff) break;
      this.#drop(key, entry);
      dropped += 1;
    }
    return dropped;
  }

  #drop(key: string, entry: Entry<V>): void {
    this.#entries.delete(key);
    this.#bytes -= this.#size(key, entry.value);
  }

  get entries(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }
}
