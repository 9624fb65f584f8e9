// The cache filter's in-memory store: responses by cache key (each key's variants by Vary), evicted least recently
// used first within a byte budget, with the fills in progress that concurrent misses of a key wait on.
import type CachePolicy from 'http-cache-semantics';

/** One stored response (a variant of its key). */
export interface CachedResponse {
  readonly key: string;
  policy: CachePolicy;
  /**
   * What a plain request (no Cache-Control or Pragma of its own) needs for a hit without re-reading the policy: its
   * headers (no Age, no Content-Length), until when (Date.now() ms) it is fresh, and its age (s) as of `since`.
   */
  fresh: { headers: readonly string[]; until: number; age: number; since: number };
  /** Headers kept from the response as first stored, over what revalidations said (its body was made with them). */
  pinned?: Record<string, string>;
  readonly status: number;
  readonly body: Buffer;
  /** It has a validator (ETag or Last-Modified): once stale, a conditional request can revalidate it. */
  readonly validators: boolean;
  /** The request headers the response varies on, as they were (lower-case names; undefined = absent). */
  readonly varyValues: ReadonlyMap<string, string | undefined>;
  /** What the entry costs the byte budget: body, headers and bookkeeping. */
  readonly bytes: number;
}

/** Someone waiting for a key's fill to end (a held request). */
export interface FillWaiter {
  fillEnded(): void;
}

/** How long a key whose response could not be stored is fetched without waiting on others (Varnish's hit-for-pass). */
export const PASS_MS = 30_000;
/** Keys remembered as uncacheable at most (the oldest are forgotten first; keys are at most 2 KiB). */
const MAX_PASS_KEYS = 4096;

/** Fixed cost per entry besides body and headers (maps, policy object), counted against the byte budget. */
export const ENTRY_OVERHEAD = 512;

export class ResponseStore {
  readonly maxBytes: number;
  readonly #byKey = new Map<string, CachedResponse[]>();
  /** Every entry, least recently used first (a Map keeps insertion order: touching re-inserts). */
  readonly #lru = new Map<CachedResponse, true>();
  readonly #fills = new Map<string, Set<FillWaiter>>();
  /** Keys whose last response could not be stored, until when (ms, performance.now()). */
  readonly #pass = new Map<string, number>();
  #bytes = 0;
  #evicted = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get entries(): number {
    return this.#lru.size;
  }

  /** Entries evicted for room so far. */
  get evicted(): number {
    return this.#evicted;
  }

  /** The key's variants, most recent first (empty when none). */
  variants(key: string): readonly CachedResponse[] {
    return this.#byKey.get(key) ?? [];
  }

  /** Marks an entry used (it moves to the back of the eviction order). */
  touch(entry: CachedResponse): void {
    if (!this.#lru.delete(entry)) return;
    this.#lru.set(entry, true);
  }

  /** Stores an entry, replacing the variant it updates (same Vary values); false when it cannot fit at all. */
  put(entry: CachedResponse): boolean {
    if (entry.bytes > this.maxBytes) return false;
    const list = this.#byKey.get(entry.key) ?? [];
    const same = list.find((e) => sameVary(e.varyValues, entry.varyValues));
    if (same !== undefined) this.#remove(same);
    this.#pass.delete(entry.key);
    const current = this.#byKey.get(entry.key) ?? [];
    current.unshift(entry);
    this.#byKey.set(entry.key, current);
    this.#lru.set(entry, true);
    this.#bytes += entry.bytes;
    for (const oldest of this.#lru.keys()) {
      if (this.#bytes <= this.maxBytes) break;
      this.#remove(oldest);
      this.#evicted++;
    }
    return true;
  }

  /** Drops every variant of a key (an unsafe method succeeded on it); the number dropped. */
  invalidate(key: string): number {
    const list = this.#byKey.get(key);
    if (list === undefined) return 0;
    const n = list.length;
    for (const e of [...list]) this.#remove(e);
    return n;
  }

  /** Drops the entries whose key passes `match`; the number dropped. */
  purge(match: (key: string) => boolean): number {
    let n = 0;
    for (const key of [...this.#byKey.keys()]) if (match(key)) n += this.invalidate(key);
    return n;
  }

  /**
   * The key's response could not be stored: for a while its requests go upstream at once, not one after another
   * behind a fill that will not help them.
   */
  pass(key: string, now = performance.now()): void {
    this.#pass.delete(key);
    this.#pass.set(key, now + PASS_MS);
    if (this.#pass.size > MAX_PASS_KEYS) this.#pass.delete(this.#pass.keys().next().value as string);
  }

  /** Whether the key was found uncacheable lately. */
  passing(key: string, now = performance.now()): boolean {
    const until = this.#pass.get(key);
    if (until === undefined) return false;
    if (until > now) return true;
    this.#pass.delete(key);
    return false;
  }

  /** Whether a request is fetching the key from upstream now. */
  filling(key: string): boolean {
    return this.#fills.has(key);
  }

  /** Starts a fill of the key (the caller fetches it); false when one is already in progress. */
  beginFill(key: string): boolean {
    if (this.#fills.has(key)) return false;
    this.#fills.set(key, new Set());
    return true;
  }

  /** Waits for the key's fill to end; false when there is none or `limit` requests wait already. */
  wait(key: string, waiter: FillWaiter, limit: number): boolean {
    const waiters = this.#fills.get(key);
    if (waiters === undefined || waiters.size >= limit) return false;
    waiters.add(waiter);
    return true;
  }

  /** A waiter that left (its request ended) stops waiting. */
  unwait(key: string, waiter: FillWaiter): void {
    this.#fills.get(key)?.delete(waiter);
  }

  /** The fill ended (stored or not): its waiters look again, one after another (one's failure stops no other). */
  endFill(key: string): void {
    const waiters = this.#fills.get(key);
    if (waiters === undefined) return;
    this.#fills.delete(key);
    for (const w of waiters) {
      try {
        w.fillEnded();
      } catch {
        // That request fails on its own (its filter run answers 500 or its stream ends); the others go on.
      }
    }
  }

  #remove(entry: CachedResponse): void {
    if (!this.#lru.delete(entry)) return;
    this.#bytes -= entry.bytes;
    const list = this.#byKey.get(entry.key);
    if (list === undefined) return;
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#byKey.delete(entry.key);
  }
}

function sameVary(a: ReadonlyMap<string, string | undefined>, b: ReadonlyMap<string, string | undefined>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, value] of a) if (!b.has(name) || b.get(name) !== value) return false;
  return true;
}

/** The sidecar's live stores, for the admin's purge (a store lives as long as its connection manager's filters). */
export class ResponseCaches {
  readonly #stores = new Set<WeakRef<ResponseStore>>();

  add(store: ResponseStore): void {
    for (const ref of this.#stores) if (ref.deref() === undefined) this.#stores.delete(ref);
    this.#stores.add(new WeakRef(store));
  }

  /** Drops matching entries from every live store; the number dropped. */
  purge(match: (key: string) => boolean): number {
    let n = 0;
    for (const ref of [...this.#stores]) {
      const store = ref.deref();
      if (store === undefined) this.#stores.delete(ref);
      else n += store.purge(match);
    }
    return n;
  }
}
