// Rate limit descriptors: what a request's route `rate_limits` make of it, and the local rate limit filter's buckets
// for them (a bucket per configured descriptor, or per distinct value where the configured value is empty).

import { createHash } from 'node:crypto';
import { TokenBucket } from '../../common/token-bucket.ts';
import type { DescriptorEntry, LocalRateLimitConfig, RateLimitAction, RateLimitSpec } from '../../config/model.ts';
import type { FilterStream } from '../../http/filter/filter.ts';
import { type CompiledHeaderMatch, compileHeaderMatches, headersMatch } from '../../http/message/header-match.ts';

/** Per-value buckets one wildcard descriptor keeps at most; the least recently used go first (they refill anyway). */
export const MAX_DYNAMIC_BUCKETS = 10_000;

const compiledMatches = new WeakMap<RateLimitAction, CompiledHeaderMatch[]>();

/** One action's entry; undefined: no descriptor at all; null: no entry (skip_if_absent), the rest still count. */
function entryOf(action: RateLimitAction, stream: FilterStream): DescriptorEntry | undefined | null {
  switch (action.kind) {
    case 'remote_address':
      return stream.clientAddress === '' ? undefined : { key: 'remote_address', value: stream.clientAddress };
    case 'request_headers': {
      const value = stream.header(action.header);
      if (value === undefined) return action.skipIfAbsent ? null : undefined;
      return { key: action.descriptorKey, value };
    }
    case 'generic_key':
      return { key: action.descriptorKey, value: action.value };
    case 'header_value_match': {
      let compiled = compiledMatches.get(action);
      if (compiled === undefined) {
        compiled = compileHeaderMatches(action.headers);
        compiledMatches.set(action, compiled);
      }
      return headersMatch(compiled, stream) === action.expectMatch
        ? { key: action.descriptorKey, value: action.value }
        : undefined;
    }
  }
}

/** The descriptors of the request's stage-0 `rate_limits`, each complete (an action without an entry drops its descriptor). */
export function requestDescriptors(specs: readonly RateLimitSpec[], stream: FilterStream): DescriptorEntry[][] {
  const out: DescriptorEntry[][] = [];
  for (const spec of specs) {
    if (spec.stage !== 0) continue;
    const entries: DescriptorEntry[] = [];
    let complete = true;
    for (const action of spec.actions) {
      const entry = entryOf(action, stream);
      if (entry === undefined) {
        complete = false;
        break;
      }
      if (entry !== null) entries.push(entry);
    }
    if (complete && entries.length > 0) out.push(entries);
  }
  return out;
}

/** One configured descriptor's bucket, or its buckets per value when some configured values are empty. */
export class DescriptorBuckets {
  readonly entries: readonly DescriptorEntry[];
  /** Some configured value is empty: a bucket per value (tried after the descriptors with fixed values). */
  readonly wildcard: boolean;
  /** Tokens per millisecond: buckets are spent slowest-filling first, as Envoy does. */
  readonly rate: number;
  readonly #spec: LocalRateLimitConfig['descriptors'][number]['tokenBucket'];
  readonly #now: (() => number) | undefined;
  readonly #fixed: TokenBucket | undefined;
  readonly #dynamic = new Map<string, TokenBucket>();

  constructor(descriptor: LocalRateLimitConfig['descriptors'][number], now?: () => number) {
    this.entries = descriptor.entries;
    this.#spec = descriptor.tokenBucket;
    this.#now = now;
    this.wildcard = descriptor.entries.some((e) => e.value === '');
    this.rate = descriptor.tokenBucket.tokensPerFill / descriptor.tokenBucket.fillIntervalMs;
    this.#fixed = this.wildcard ? undefined : new TokenBucket(descriptor.tokenBucket, now);
  }

  /** Buckets held for distinct values now. */
  get dynamicBuckets(): number {
    return this.#dynamic.size;
  }

  /** The bucket for a request descriptor, or undefined when it does not match (same keys in order, values equal or wildcard). */
  bucketFor(descriptor: readonly DescriptorEntry[]): TokenBucket | undefined {
    const entries = this.entries;
    if (descriptor.length !== entries.length) return undefined;
    let values = '';
    for (let i = 0; i < entries.length; i++) {
      const want = entries[i] as DescriptorEntry;
      const got = descriptor[i] as DescriptorEntry;
      if (want.key !== got.key) return undefined;
      if (want.value === '') values += `${got.value.length}:${got.value}`;
      else if (want.value !== got.value) return undefined;
    }
    if (this.#fixed !== undefined) return this.#fixed;
    // A digest, not the values: a client's 60 KiB header value must not weigh 60 KiB per bucket.
    const key = values.length <= 64 ? values : createHash('sha256').update(values).digest('base64');
    let bucket = this.#dynamic.get(key);
    if (bucket !== undefined) {
      // Most recently used last: eviction takes the oldest.
      this.#dynamic.delete(key);
    } else {
      bucket = new TokenBucket(this.#spec, this.#now);
      if (this.#dynamic.size >= MAX_DYNAMIC_BUCKETS) this.#dynamic.delete(this.#dynamic.keys().next().value as string);
    }
    this.#dynamic.set(key, bucket);
    return bucket;
  }
}
