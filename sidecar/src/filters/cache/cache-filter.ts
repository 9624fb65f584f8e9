// envoy.filters.http.cache: an RFC 9111 shared cache in front of the upstream. Freshness, revalidation and Vary come
// from http-cache-semantics; fresh hits are answered here, stale entries revalidated with a conditional request (a
// 304 is answered from the store), concurrent misses of a key wait for one upstream fetch, unsafe methods invalidate,
// and every response says what happened in Cache-Status (RFC 9211). Stats: http.<prefix>.cache.*.
import { Transform, type TransformCallback } from 'node:stream';
import CachePolicy from 'http-cache-semantics';
import { CACHE_TYPE, type CacheFilterConfig, type HttpFilterTypedConfig } from '../../config/model.ts';
import type {
  FilterEnv,
  FilterStream,
  HttpFilter,
  HttpFilterFactory,
  PreparedFilter,
  ResponseBody,
  ResponseHead,
} from '../../http/filter/filter.ts';
import { headerGet, headerSet } from '../../http/header-list.ts';
import { compileStringMatcher, type StringPredicate } from '../../http/string-matcher.ts';
import type { Stats } from '../../stats.ts';
import {
  type CachedResponse,
  ENTRY_OVERHEAD,
  type FillWaiter,
  type ResponseCaches,
  ResponseStore,
} from './response-store.ts';

/** Bytes one cache filter config may hold (bodies, headers, bookkeeping). */
export const CACHE_MAX_BYTES = 64 * 1024 * 1024;
/** The largest body stored when `max_body_bytes` is 0. */
const DEFAULT_MAX_BODY = 1024 * 1024;
/** Requests that may wait on one key's fill; beyond it they go upstream themselves. */
const MAX_WAITERS = 1024;
/** Cache-Status's cache name (RFC 9211). */
const CACHE_NAME = 'trellis';
/** Methods RFC 9110 calls unsafe: a success invalidates the target's entries (RFC 9111 §4.4). */
const UNSAFE: ReadonlySet<string> = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);
/** Request headers that make a request something the cache does not answer (conditional or partial). */
const BYPASS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range'];

const COUNTERS = [
  'hit',
  'miss',
  'validated',
  'failed_validation',
  'stale_served',
  'stored',
  'uncacheable',
  'coalesced',
  'invalidated',
  'bypass',
] as const;
type Counter = (typeof COUNTERS)[number];

type Headers = Record<string, string>;

/** A flat header list as the object http-cache-semantics reads (repeats joined, as RFC 9110 allows). */
function headerObject(list: readonly string[], into: Headers = {}): Headers {
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i] as string;
    const value = list[i + 1] as string;
    const prev = into[name];
    into[name] = prev === undefined ? value : name === 'set-cookie' ? `${prev}\n${value}` : `${prev}, ${value}`;
  }
  return into;
}

function headerList(headers: Headers): string[] {
  const list: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'content-length' || name === 'transfer-encoding') continue;
    list.push(name, value);
  }
  return list;
}

class PreparedCache implements PreparedFilter {
  readonly config: CacheFilterConfig;
  readonly store: ResponseStore;
  readonly maxBody: number;
  readonly #vary: readonly StringPredicate[];
  readonly #stats: Stats;
  readonly #names: Readonly<Record<Counter, string>>;

  constructor(config: CacheFilterConfig, env: FilterEnv, store: ResponseStore) {
    this.config = config;
    this.store = store;
    this.maxBody = Math.min(config.maxBodyBytes || DEFAULT_MAX_BODY, store.maxBytes);
    this.#vary = config.allowedVaryHeaders.map(compileStringMatcher);
    this.#stats = env.stats;
    const names = {} as Record<Counter, string>;
    for (const c of COUNTERS) names[c] = `http.${env.statPrefix}.cache.${c}`;
    this.#names = names;
  }

  count(counter: Counter): void {
    this.#stats.inc(this.#names[counter]);
  }

  /** A Vary header every name of which the config allows (`*` never). */
  varyAllowed(vary: string | undefined): boolean {
    if (vary === undefined) return true;
    for (const raw of vary.split(',')) {
      const name = raw.trim().toLowerCase();
      if (name === '') continue;
      if (name === '*' || !this.#vary.some((allowed) => allowed(name))) return false;
    }
    return true;
  }

  keyOf(stream: FilterStream): string {
    const c = this.config;
    const scheme = c.excludeScheme ? '' : `${stream.header(':scheme') ?? 'http'}://`;
    const host = c.excludeHost ? '' : stream.authority.toLowerCase();
    return `${scheme}${host}${stream.path}${stream.query}`;
  }

  create(stream: FilterStream): HttpFilter | undefined {
    if (this.config.disabled) return undefined;
    const method = stream.method;
    if (UNSAFE.has(method)) return new Invalidate(this, this.keyOf(stream));
    if (method !== 'GET') return undefined;
    for (const name of BYPASS) {
      if (stream.header(name) !== undefined) {
        this.count('bypass');
        return undefined;
      }
    }
    return new CacheFilter(this, stream);
  }
}

/** What a GET found in the store. */
type Lookup =
  | { kind: 'hit'; entry: CachedResponse; headers: Headers; stale: boolean }
  | { kind: 'revalidate'; entry: CachedResponse; conditional: Headers }
  | { kind: 'miss' };

/** One GET through the cache: answered from the store, or fetched (and maybe stored), or held for another's fetch. */
class CacheFilter implements HttpFilter, FillWaiter {
  readonly #prepared: PreparedCache;
  readonly #stream: FilterStream;
  readonly #key: string;
  readonly #request: CachePolicy.Request;
  /** This request fetches the key for the store (concurrent misses wait on it). */
  #filling = false;
  #waiting = false;
  /** Revalidating this stale entry. */
  #revalidating: CachedResponse | undefined;
  #done = false;

  constructor(prepared: PreparedCache, stream: FilterStream) {
    this.#prepared = prepared;
    this.#stream = stream;
    this.#key = prepared.keyOf(stream);
    const headers = headerObject(stream.requestHeaders(), { host: stream.authority.toLowerCase() });
    if (prepared.config.ignoreRequestCacheControl) {
      delete headers['cache-control'];
      delete headers['pragma'];
    }
    this.#request = { url: `${stream.path}${stream.query}`, method: 'GET', headers };
  }

  onRequestHeaders(stream: FilterStream): 'continue' | 'stop' {
    return this.#decide(stream, false) ? 'continue' : 'stop';
  }

  /** Looks the request up and acts; true when it goes on upstream now. */
  #decide(stream: FilterStream, woken: boolean): boolean {
    const prepared = this.#prepared;
    const store = prepared.store;
    const found = this.#lookup();
    if (found.kind === 'hit') {
      prepared.count(found.stale ? 'stale_served' : 'hit');
      if (woken) prepared.count('coalesced');
      store.touch(found.entry);
      stream.localReply(this.#reply(found.entry, found.headers, found.stale ? 'hit; stale' : 'hit'));
      return false;
    }
    // One fetch per key at a time: later misses wait for it (bounded), then look again.
    if (store.filling(this.#key) && store.wait(this.#key, this, MAX_WAITERS)) {
      this.#waiting = true;
      return false;
    }
    this.#filling = store.beginFill(this.#key);
    prepared.count('miss');
    if (found.kind === 'revalidate') {
      this.#revalidating = found.entry;
      for (const name of ['if-none-match', 'if-modified-since']) {
        const value = found.conditional[name];
        if (value !== undefined) stream.setRequestHeader(name, value);
      }
    }
    if (woken) stream.continueRequest();
    return true;
  }

  #lookup(): Lookup {
    const store = this.#prepared.store;
    const request = this.#request;
    for (const entry of store.variants(this.#key)) {
      if (!varyMatches(entry, request.headers)) continue;
      const evaluated = entry.policy.evaluateRequest(request);
      const revalidation = evaluated.revalidation;
      if (evaluated.response !== undefined) {
        // stale-while-revalidate: served stale while someone refreshes it; with nobody refreshing, this one does.
        if (revalidation === undefined || store.filling(this.#key))
          return {
            kind: 'hit',
            entry,
            headers: evaluated.response.headers as Headers,
            stale: revalidation !== undefined,
          };
      }
      const headers = entry.policy.responseHeaders() as Headers;
      if (headers['etag'] !== undefined || headers['last-modified'] !== undefined)
        return { kind: 'revalidate', entry, conditional: (revalidation?.headers ?? {}) as Headers };
      return { kind: 'miss' };
    }
    return { kind: 'miss' };
  }

  #reply(entry: CachedResponse, headers: Headers, status: string) {
    const list = headerList(headers);
    list.push('cache-status', `${CACHE_NAME}; ${status}`);
    return { status: entry.status, body: entry.body, flags: '', headers: list };
  }

  fillEnded(): void {
    if (!this.#waiting || this.#done) return;
    this.#waiting = false;
    this.#decide(this.#stream, true);
  }

  onResponseHeaders(head: ResponseHead, endStream: boolean): ResponseBody | undefined {
    const prepared = this.#prepared;
    const stale = this.#revalidating;
    const response = { status: head.status, headers: headerObject(head.headers) };
    if (stale !== undefined) {
      // A 304 refreshes the stored entry; so does an error while stale-if-error allows the stale one.
      const { policy, modified } = stale.policy.revalidatedPolicy(this.#request, response);
      if (!modified) {
        prepared.count('validated');
        stale.policy = policy;
        prepared.store.touch(stale);
        head.status = stale.status;
        head.headers.length = 0;
        head.headers.push(...headerList(policy.responseHeaders() as Headers));
        head.headers.push('content-length', String(stale.body.length));
        head.headers.push('cache-status', `${CACHE_NAME}; fwd=stale; fwd-status=${response.status}`);
        this.#endFill();
        return { replaceWith: stale.body };
      }
      prepared.count('failed_validation');
    }
    headerSet(head.headers, 'cache-status', `${CACHE_NAME}; fwd=${stale === undefined ? 'miss' : 'stale'}`);
    const policy = new CachePolicy(this.#request, response, { shared: true });
    const length = headerGet(head.headers, 'content-length');
    const storable =
      policy.storable() &&
      headerGet(head.headers, 'set-cookie') === undefined &&
      prepared.varyAllowed(response.headers['vary']) &&
      (length === undefined || Number(length) <= prepared.maxBody);
    if (!storable) {
      prepared.count('uncacheable');
      this.#endFill();
      return undefined;
    }
    if (endStream) {
      this.#store(policy, head.status, Buffer.alloc(0));
      return undefined;
    }
    return new Fill(prepared.maxBody, (body) => {
      if (body === undefined) {
        prepared.count('uncacheable');
        this.#endFill();
      } else this.#store(policy, head.status, body);
    });
  }

  #store(policy: CachePolicy, status: number, body: Buffer): void {
    const prepared = this.#prepared;
    const request = this.#request;
    const varyValues = new Map<string, string | undefined>();
    const vary = (policy.responseHeaders() as Headers)['vary'];
    for (const raw of vary?.split(',') ?? []) {
      const name = raw.trim().toLowerCase();
      if (name !== '') varyValues.set(name, request.headers[name] as string | undefined);
    }
    let headerBytes = 0;
    for (const [name, value] of Object.entries(policy.responseHeaders()))
      headerBytes += name.length + String(value).length;
    const stored = prepared.store.put({
      key: this.#key,
      policy,
      status,
      body,
      varyValues,
      bytes: body.length + headerBytes + ENTRY_OVERHEAD,
    });
    prepared.count(stored ? 'stored' : 'uncacheable');
    this.#endFill();
  }

  #endFill(): void {
    if (!this.#filling) return;
    this.#filling = false;
    this.#prepared.store.endFill(this.#key);
  }

  onDestroy(): void {
    this.#done = true;
    if (this.#waiting) {
      this.#waiting = false;
      this.#prepared.store.unwait(this.#key, this);
    }
    // A fetch that ended before its body was stored (reset, timeout, client gone) lets the waiters look again.
    this.#endFill();
  }
}

/** Whether an entry's Vary'd request headers equal the request's. */
function varyMatches(entry: CachedResponse, headers: CachePolicy.Headers): boolean {
  for (const [name, value] of entry.varyValues) if (headers[name] !== value) return false;
  return true;
}

/** Passes the body through unchanged while keeping a copy up to a bound; `done` gets it whole, or undefined. */
class Fill extends Transform {
  readonly #max: number;
  readonly #done: (body: Buffer | undefined) => void;
  #chunks: Buffer[] | undefined = [];
  #bytes = 0;
  #reported = false;

  constructor(max: number, done: (body: Buffer | undefined) => void) {
    super();
    this.#max = max;
    this.#done = done;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const chunks = this.#chunks;
    if (chunks !== undefined) {
      this.#bytes += chunk.length;
      if (this.#bytes > this.#max) {
        this.#chunks = undefined;
        this.#report(undefined);
      } else chunks.push(chunk);
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const chunks = this.#chunks;
    this.#chunks = undefined;
    if (chunks !== undefined) this.#report(Buffer.concat(chunks, this.#bytes));
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#chunks = undefined;
    // A body cut short is not stored.
    this.#report(undefined);
    callback(error);
  }

  #report(body: Buffer | undefined): void {
    if (this.#reported) return;
    this.#reported = true;
    this.#done(body);
  }
}

/** An unsafe method: a success (2xx, 3xx) invalidates what the store holds for its target. */
class Invalidate implements HttpFilter {
  readonly #prepared: PreparedCache;
  readonly #key: string;

  constructor(prepared: PreparedCache, key: string) {
    this.#prepared = prepared;
    this.#key = key;
  }

  onRequestHeaders(): 'continue' {
    return 'continue';
  }

  onResponseHeaders(head: ResponseHead): undefined {
    if (head.status >= 200 && head.status < 400 && this.#prepared.store.invalidate(this.#key) > 0)
      this.#prepared.count('invalidated');
    return undefined;
  }

  onDestroy(): void {}
}

/** The cache filter type; its stores register with `caches` (the admin's purge). */
export function cacheFilter(caches: ResponseCaches): HttpFilterFactory {
  return {
    prepare(config: HttpFilterTypedConfig, env: FilterEnv, base?: PreparedFilter): PreparedFilter {
      if (config.typeName !== CACHE_TYPE) throw new Error(`the cache filter got a ${config.typeName} config`);
      // A route's override shares its connection manager's store.
      const store = base instanceof PreparedCache ? base.store : new ResponseStore(CACHE_MAX_BYTES);
      if (!(base instanceof PreparedCache)) caches.add(store);
      return new PreparedCache(config.config, env, store);
    },
  };
}
