// A least-recently-used map bounded by the bytes its entries account for (the control plane's encoding caches).

export class ByteLru<V> {
  readonly #maxBytes: number;
  readonly #size: (key: string, value: V) => number;
  /** Insertion order is recency order: a hit moves its entry to the end, eviction starts at the front. */
  readonly #entries = new Map<string, V>();
  #bytes = 0;

  /** `size` says what an entry accounts for (its key included, as the owner counts it). */
  constructor(maxBytes: number, size: (key: string, value: V) => number) {
    this.#maxBytes = maxBytes;
    this.#size = size;
  }

  /** The value for key, now the most recently used; undefined on a miss. */
  get(key: string): V | undefined {
    const hit = this.#entries.get(key);
    if (hit === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, hit);
    return hit;
  }

  /** Keeps value (unless it alone is over the bound), dropping the least recently used entries past it. */
  set(key: string, value: V): void {
    const size = this.#size(key, value);
    if (size > this.#maxBytes) return;
    this.#entries.set(key, value);
    this.#bytes += size;
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= this.#size(oldest, entry);
    }
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
