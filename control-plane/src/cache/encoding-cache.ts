// A bounded LRU of encoded resources keyed by type + exact content, shared by every group and publish round.
import { anyOf } from '@trellis/xds-protos';
import { ByteLru } from './byte-lru.ts';
import { shortHash } from './hash.ts';

/** One encoded resource: its Any value and its content version (a short hash of the bytes). */
export interface Encoded {
  readonly typeUrl: string;
  readonly value: Uint8Array;
  readonly version: string;
}

/** Objects deep-frozen by `sealed`: immutable, so their identity stands for their content. */
const sealedObjects = new WeakSet<object>();

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

/**
 * Deep-freezes a resource object and marks it immutable, so the encoding cache may find it by identity (no content
 * key). For objects a producer hands out again unchanged (the translator's per-input caches).
 */
export function sealed<T extends Record<string, unknown>>(object: T): T {
  deepFreeze(object);
  sealedObjects.add(object);
  return object;
}

/**
 * Whether JSON text pins down how value encodes: only strings, finite numbers other than -0, booleans, arrays of
 * such and plain objects (undefined members are skipped by JSON, by the shape check and by the encoder alike).
 */
function jsonExact(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!jsonExact(value[i])) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in value) {
        const v = (value as Record<string, unknown>)[key];
        if (v !== undefined && !jsonExact(v)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * An exact text of a plain JSON-like value (its JSON), or undefined when it holds anything JSON would not pin down
 * (null, non-finite numbers, -0, functions, bytes and other class instances, bigint…): those are encoded afresh
 * every time, so the shape check sees them. Equal keys mean equal encodings; keys in another order are only a miss.
 */
export function contentKey(value: unknown): string | undefined {
  return jsonExact(value) ? JSON.stringify(value) : undefined;
}

export interface EncodingCacheOptions {
  /** Upper bound on the bytes held (keys counted at 2 bytes a character, plus the encoded values); default 64 MiB. */
  maxBytes?: number;
}

/**
 * Encodes resources once per distinct content: a hit costs the content key and one Map lookup, not the shape check,
 * the protobuf encode or the hash. Least recently used entries are dropped once over maxBytes. Encodings are
 * shared, never mutated: callers must not write into `value`.
 */
export class EncodingCache {
  readonly #entries: ByteLru<Encoded>;
  /** Encodings of sealed objects by identity (weak: they live as long as their producer keeps the object). */
  readonly #byObject = new WeakMap<object, Encoded>();
  #hits = 0;
  #misses = 0;

  constructor(opts: EncodingCacheOptions = {}) {
    this.#entries = new ByteLru(opts.maxBytes ?? 64 * 1024 * 1024, sizeOf);
  }

  /** The encoding of object as typeUrl (throws like anyOf when it does not fit the schema; failures are not cached). */
  encode(typeUrl: string, object: Record<string, unknown>): Encoded {
    const isSealed = sealedObjects.has(object);
    if (isSealed) {
      const known = this.#byObject.get(object);
      if (known && known.typeUrl === typeUrl) {
        this.#hits++;
        return known;
      }
    }
    const encoded = this.#encodeByContent(typeUrl, object);
    if (isSealed) this.#byObject.set(object, encoded);
    return encoded;
  }

  #encodeByContent(typeUrl: string, object: Record<string, unknown>): Encoded {
    const content = contentKey(object);
    if (content === undefined) {
      this.#misses++;
      return fresh(typeUrl, object);
    }
    const key = `${typeUrl}\n${content}`;
    const hit = this.#entries.get(key);
    if (hit) {
      this.#hits++;
      return hit;
    }
    this.#misses++;
    const encoded = fresh(typeUrl, object);
    this.#entries.set(key, encoded);
    return encoded;
  }

  /** Entries held, bytes accounted, and hits/misses since creation. */
  stats(): { entries: number; bytes: number; hits: number; misses: number } {
    return { entries: this.#entries.entries, bytes: this.#entries.bytes, hits: this.#hits, misses: this.#misses };
  }

  clear(): void {
    this.#entries.clear();
  }
}

function sizeOf(key: string, encoded: Encoded): number {
  return 2 * key.length + encoded.value.byteLength + 64;
}

function fresh(typeUrl: string, object: Record<string, unknown>): Encoded {
  const { value } = anyOf(typeUrl, object);
  return { typeUrl, value, version: shortHash(value) };
}
