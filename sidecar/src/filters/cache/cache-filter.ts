// envoy.filters.http.cache: an RFC 9111 shared cache in front of the upstream. Freshness, revalidation and Vary come
// from http-cache-semantics; fresh hits are answered here, stale entries revalidated with a conditional request (a
// 304 is answered from the store), concurrent misses of a key wait for one upstream fetch, unsafe methods invalidate,
// and every response says what happened in Cache-Status (RFC 9211). Stats: http.<prefix>.cache.*.
import { Transform, type TransformCallback } from 'node:stream';
import CachePolicy from 'http-cache-semantics';
import type { Stats } from '../../common/stats.ts';
import { CACHE_TYPE, type CacheFilterConfig, type HttpFilterTypedConfig } from '../../config/model.ts';
import type {
  BodyTransform,
  FilterEnv,
  FilterStream,
  HttpFilter,
  HttpFilterFactory,
  PreparedFilter,
  ResponseBody,
  ResponseHead,
} from '../../http/filter/filter.ts';
import { headerGet, headerSet } from '../../http/message/header-list.ts';
import { compileStringMatcher, type StringPredicate } from '../../http/message/string-matcher.ts';
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
/** How long a request waits for another's fill of its key before it goes upstream itself (a slow filler). */
export const MAX_WAIT_MS = 2000;
/** Longer keys (host, path and query) are not cached: a hostile URL must not weigh on the store. */
export const MAX_KEY_LENGTH = 2048;
/** Response headers a revalidation keeps from the stored response (its body was made with them). */
const PINNED = ['etag', 'vary', 'content-encoding', 'content-type', 'content-length'];
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
    const key = this.keyOf(stream);
    let bypass = key.length > MAX_KEY_LENGTH;
    for (const name of BYPASS) if (stream.header(name) !== undefined) bypass = true;
    if (bypass) {
      this.count('bypass');
      return undefined;
    }
    return new CacheFilter(this, stream, key);
  }
}

/** What a GET found in the store. */
type Lookup =
  | { kind: 'hit'; entry: CachedResponse; headers: string[]; stale: boolean }
  | { kind: 'revalidate'; entry: CachedResponse; conditional: Headers }
  | { kind: 'miss' };

/** One GET through the cache: answered from the store, or fetched (and maybe stored), or held for another's fetch. */
class CacheFilter implements HttpFilter, FillWaiter {
  readonly #prepared: PreparedCache;
  readonly #stream: FilterStream;
  readonly #key: string;
  /** The request as http-cache-semantics reads it, made only when a policy needs it (not for a fresh hit). */
  #requestObject: CachePolicy.Request | undefined;
  /** This request fetches the key for the store (concurrent misses wait on it). */
  #filling = false;
  #waiting = false;
  /** Bounds the wait for another request's fill. */
  #waitTimer: NodeJS.Timeout | undefined;
  /** Revalidating this stale entry. */
  #revalidating: CachedResponse | undefined;
  #done = false;

  constructor(prepared: PreparedCache, stream: FilterStream, key: string) {
    this.#prepared = prepared;
    this.#stream = stream;
    this.#key = key;
  }

  get #request(): CachePolicy.Request {
    if (this.#requestObject !== undefined) return this.#requestObject;
    const stream = this.#stream;
    const headers = headerObject(stream.requestHeaders(), { host: stream.authority.toLowerCase() });
    if (this.#prepared.config.ignoreRequestCacheControl) {
      delete headers['cache-control'];
      delete headers['pragma'];
    }
    this.#requestObject = { url: `${stream.path}${stream.query}`, method: 'GET', headers };
    return this.#requestObject;
  }

  /** A request header's value as the policy sees it (repeats joined), without making the whole request object. */
  #value(name: string): string | undefined {
    if (this.#requestObject !== undefined) return this.#requestObject.headers[name] as string | undefined;
    const list = this.#stream.requestHeaders();
    let value: string | undefined;
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] !== name) continue;
      const v = list[i + 1] as string;
      value = value === undefined ? v : `${value}, ${v}`;
    }
    return value;
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
    // One fetch per key at a time: later misses wait for it (bounded), then look again; keys found uncacheable
    // lately are fetched at once (waiting would only serialize them).
    const pass = store.passing(this.#key);
    if (!pass && store.filling(this.#key) && store.wait(this.#key, this, MAX_WAITERS)) {
      this.#waiting = true;
      this.#waitTimer = setTimeout(onWaitTimeout, MAX_WAIT_MS, this);
      return false;
    }
    this.#filling = !pass && store.beginFill(this.#key);
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
    const plain =
      this.#prepared.config.ignoreRequestCacheControl ||
      (this.#value('cache-control') === undefined && this.#value('pragma') === undefined);
    for (const entry of store.variants(this.#key)) {
      if (!this.#varyMatches(entry)) continue;
      // The hot path: a plain request and a fresh entry need nothing from the policy but what it said at store time.
      const now = Date.now();
      if (plain && now < entry.fresh.until)
        return { kind: 'hit', entry, headers: freshHeaders(entry, now), stale: false };
      const evaluated = entry.policy.evaluateRequest(this.#request);
      const revalidation = evaluated.revalidation;
      if (evaluated.response !== undefined) {
        // stale-while-revalidate: served stale while someone refreshes it; with nobody refreshing, this one does.
        if (revalidation === undefined || store.filling(this.#key))
          return {
            kind: 'hit',
            entry,
            headers: headerList({ ...(evaluated.response.headers as Headers), ...entry.pinned }),
            stale: revalidation !== undefined,
          };
      }
      if (entry.validators) return { kind: 'revalidate', entry, conditional: (revalidation?.headers ?? {}) as Headers };
      return { kind: 'miss' };
    }
    return { kind: 'miss' };
  }

  /** Whether an entry's Vary'd request headers equal the request's. */
  #varyMatches(entry: CachedResponse): boolean {
    for (const [name, value] of entry.varyValues) if (this.#value(name) !== value) return false;
    return true;
  }

  #reply(entry: CachedResponse, headers: string[], status: string) {
    headers.push('cache-status', `${CACHE_NAME}; ${status}`);
    return { status: entry.status, body: entry.body, flags: '', headers, stored: true };
  }

  fillEnded(): void {
    if (!this.#waiting || this.#done) return;
    this.#stopWaiting();
    this.#decide(this.#stream, true);
  }

  /** The fill took too long (a slow filler): this request goes upstream itself, without filling. */
  waitTimedOut(): void {
    this.#waitTimer = undefined;
    if (!this.#waiting || this.#done) return;
    this.#stopWaiting();
    this.#prepared.count('miss');
    this.#stream.continueRequest();
  }

  #stopWaiting(): void {
    this.#waiting = false;
    if (this.#waitTimer !== undefined) clearTimeout(this.#waitTimer);
    this.#waitTimer = undefined;
    this.#prepared.store.unwait(this.#key, this);
  }

  onResponseHeaders(head: ResponseHead, endStream: boolean): ResponseBody | undefined {
    const prepared = this.#prepared;
    // The proxy's own answers (a timeout, no healthy upstream) are neither stored nor a verdict on the key.
    if (head.local === true) {
      this.#endFill();
      return undefined;
    }
    const stale = this.#revalidating;
    const response = { status: head.status, headers: headerObject(head.headers) };
    if (stale !== undefined) {
      // A 304 refreshes the stored entry; so does an error while stale-if-error allows the stale one.
      const before = stale.policy.responseHeaders() as Headers;
      const { policy, modified, matches } = stale.policy.revalidatedPolicy(this.#request, response);
      if (!modified) {
        let headers: Headers;
        if (matches) {
          prepared.count('validated');
          stale.policy = policy;
          stale.pinned = pinnedOf(before);
          stale.fresh = freshness(policy, stale.pinned);
          prepared.store.touch(stale);
          headers = { ...(policy.responseHeaders() as Headers), ...stale.pinned };
        } else {
          // A 304 that names no stored response: this answer is the stored one as it was (the origin said "not
          // modified" to its validators); the entry goes, so the next request fetches it whole (RFC 9111 §4.3.4).
          prepared.count('failed_validation');
          prepared.store.invalidate(this.#key);
          headers = before;
        }
        head.status = stale.status;
        head.headers.length = 0;
        head.headers.push(...headerList(headers));
        head.headers.push('content-length', String(stale.body.length));
        head.headers.push('cache-status', `${CACHE_NAME}; fwd=stale; fwd-status=${response.status}`);
        this.#endFill();
        return { replaceWith: stale.body };
      }
      prepared.count('failed_validation');
    }
    headerSet(head.headers, 'cache-status', `${CACHE_NAME}; fwd=${stale === undefined ? 'miss' : 'stale'}`);
    const policy = new CachePolicy(this.#storedRequest(response.headers['vary']), response, { shared: true });
    const length = headerGet(head.headers, 'content-length');
    // Worth storing: fresh for a while, or revalidatable once stale (as Envoy, which wants one or the other).
    const validators = response.headers['etag'] !== undefined || response.headers['last-modified'] !== undefined;
    const storable =
      (validators || policy.timeToLive() > 0) &&
      policy.storable() &&
      headerGet(head.headers, 'set-cookie') === undefined &&
      prepared.varyAllowed(response.headers['vary']) &&
      (length === undefined || Number(length) <= prepared.maxBody);
    if (!storable) {
      prepared.count('uncacheable');
      // What the app says about the URL, not a failure of the moment (a 5xx, a 429), keeps it out of coalescing.
      if (head.status < 500 && head.status !== 429) prepared.store.pass(this.#key);
      this.#endFill();
      return undefined;
    }
    if (endStream) {
      this.#store(policy, head.status, Buffer.alloc(0), validators);
      return undefined;
    }
    return new Fill(prepared.maxBody, (body) => {
      if (typeof body !== 'string') {
        this.#store(policy, head.status, body, validators);
        return;
      }
      prepared.count('uncacheable');
      // Too large stays too large; a body cut short (client gone, reset) may well be stored next time.
      if (body === 'too-large') prepared.store.pass(this.#key);
      this.#endFill();
    });
  }

  /**
   * The request as the stored policy keeps it: only what it reads later (host, cache directives, whether there was an
   * Authorization, the Vary'd headers), not every header (a hostile Cookie would weigh on the store).
   */
  #storedRequest(vary: string | undefined): CachePolicy.Request {
    const all = this.#request.headers;
    const headers: Headers = {};
    for (const name of ['host', 'cache-control', 'pragma']) {
      const value = all[name];
      if (typeof value === 'string') headers[name] = value;
    }
    if (all['authorization'] !== undefined) headers['authorization'] = '1';
    for (const raw of vary?.split(',') ?? []) {
      const name = raw.trim().toLowerCase();
      const value = all[name];
      if (name !== '' && typeof value === 'string') headers[name] = value;
    }
    return { url: this.#request.url, method: 'GET', headers };
  }

  #store(policy: CachePolicy, status: number, body: Buffer, validators: boolean): void {
    const prepared = this.#prepared;
    const request = this.#request;
    const varyValues = new Map<string, string | undefined>();
    const headers = policy.responseHeaders() as Headers;
    for (const raw of headers['vary']?.split(',') ?? []) {
      const name = raw.trim().toLowerCase();
      if (name !== '') varyValues.set(name, request.headers[name] as string | undefined);
    }
    let headerBytes = 0;
    for (const [name, value] of Object.entries(headers)) headerBytes += name.length + String(value).length;
    const stored = prepared.store.put({
      key: this.#key,
      policy,
      fresh: freshness(policy),
      status,
      body,
      validators,
      varyValues,
      // The key is held twice (the store's map, the policy's URL).
      bytes: body.length + headerBytes + 2 * this.#key.length + ENTRY_OVERHEAD,
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
    if (this.#waiting) this.#stopWaiting();
    // A fetch that ended before its body was stored (reset, timeout, client gone) lets the waiters look again.
    this.#endFill();
  }
}

function onWaitTimeout(filter: CacheFilter): void {
  filter.waitTimedOut();
}

/** The stored response's headers a revalidation must not change. */
function pinnedOf(headers: Headers): Headers {
  const pinned: Headers = {};
  for (const name of PINNED) {
    const value = headers[name];
    if (value !== undefined) pinned[name] = value;
  }
  return pinned;
}

/** What a policy says now for the hit fast path (CachedResponse.fresh), with the pinned headers. */
function freshness(policy: CachePolicy, pinned?: Headers): CachedResponse['fresh'] {
  const headers = headerList({ ...(policy.responseHeaders() as Headers), ...pinned });
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === 'age') {
      headers.splice(i, 2);
      break;
    }
  }
  const now = Date.now();
  // maxAge - age, not timeToLive(): that one counts stale-if-error and stale-while-revalidate (storage time).
  const age = policy.age();
  return { headers, until: now + Math.max(0, policy.maxAge() - age) * 1000, age, since: now };
}

/** A fresh entry's headers for a hit now, with its Age. */
function freshHeaders(entry: CachedResponse, now: number): string[] {
  const { headers, age, since } = entry.fresh;
  const list = headers.slice();
  list.push('age', String(Math.floor(age + (now - since) / 1000)));
  return list;
}

/** What a fill ends with: the whole body (a copy, not a view of a socket buffer), or why not. */
type Filled = Buffer | 'too-large' | 'cut-short';

/** Passes the body through unchanged while keeping a copy up to a bound. */
class Fill implements BodyTransform {
  readonly #max: number;
  readonly #done: (body: Filled) => void;
  #stream: FillStream | undefined;
  #reported = false;

  constructor(max: number, done: (body: Filled) => void) {
    this.#max = max;
    this.#done = done;
  }

  whole(body: Buffer): Buffer {
    this.#report(body.length <= this.#max ? Buffer.from(body) : 'too-large');
    return body;
  }

  stream(): Transform {
    this.#stream = new FillStream(this.#max, (body) => this.#report(body));
    return this.#stream;
  }

  destroy(): void {
    this.#stream?.destroy();
    // A body cut short is not stored.
    this.#report('cut-short');
  }

  #report(body: Filled): void {
    if (this.#reported) return;
    this.#reported = true;
    this.#done(body);
  }
}

class FillStream extends Transform {
  readonly #max: number;
  readonly #done: (body: Filled) => void;
  #chunks: Buffer[] | undefined = [];
  #bytes = 0;

  constructor(max: number, done: (body: Filled) => void) {
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
        this.#done('too-large');
      } else chunks.push(chunk);
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const chunks = this.#chunks;
    this.#chunks = undefined;
    if (chunks !== undefined) this.#done(Buffer.concat(chunks, this.#bytes));
    callback();
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
