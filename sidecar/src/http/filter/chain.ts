// A connection manager's HTTP filters compiled once, and their run over one request's headers before the router.
import type { DownstreamConnection } from '../../common/downstream-connection.ts';
import type { HttpFilterConfig, HttpFilterTypedConfig, PerFilterConfigs, RateLimitSpec } from '../../config/model.ts';
import { headerRemove, headerSet } from '../message/header-list.ts';
import type { LocalReply } from '../message/reply.ts';
import type { RequestView } from '../message/request-view.ts';
import type {
  BodyTransform,
  FilterEnv,
  FilterStatus,
  FilterStream,
  HttpFilter,
  HttpFilterFactory,
  PreparedFilter,
  ResponseHead,
  StreamLog,
} from './filter.ts';
import type { HttpFilterRegistry } from './registry.ts';

/** A lower-case header token, and a value of visible latin1 characters, spaces and tabs. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** What a request whose filter threw gets (Envoy's 500 for a filter failure; no detail leaks). */
const FILTER_FAILED: LocalReply = { status: 500, body: 'filter error', flags: '' };

interface Entry {
  readonly name: string;
  readonly factory: HttpFilterFactory;
  /** The connection manager's own config for the filter. */
  readonly prepared: PreparedFilter;
}

/** What a request's route gives its filters. */
export interface FilterRoute {
  /** The route forwards upstream (not a redirect or direct response; a request without a route: false). */
  readonly forwarding: boolean;
  readonly perFilterConfig: PerFilterConfigs | undefined;
  readonly vhostPerFilterConfig: PerFilterConfigs | undefined;
  readonly rateLimits: readonly RateLimitSpec[];
  readonly clientAddress: string;
  readonly connection: DownstreamConnection;
  /** The body read whole before routing, if it was. */
  readonly body: () => readonly Buffer[] | undefined;
  /** Replaces the body read whole (false when it streams). */
  readonly replaceBody: (body: Buffer) => boolean;
  /** A body streams to the upstream (not read whole, not absent): request body transforms apply to it. */
  readonly bodyStreams: boolean;
  readonly bufferLimitBytes: number;
}

/** What a run reports to the stream that started it. */
export interface FilterSink {
  /** Every filter handed the request on (after one or more held it): the router goes on. */
  filtersDone(): void;
  /** A filter answered the request. */
  filterReplied(reply: LocalReply): void;
  addFlag(flag: string): void;
}

/** What the filters made of an upstream response's body. */
export interface ResponseBodyPlan {
  /** Transforms the body goes through, in order. */
  transforms: BodyTransform[] | undefined;
  /** A whole body sent instead of the upstream's (which is dropped). */
  replaced: Buffer | undefined;
}

export class FilterChain {
  readonly #entries: readonly Entry[];
  readonly #env: FilterEnv;
  /** Route and virtual host overrides, prepared once per config object (route configs are immutable). */
  readonly #overrides = new WeakMap<HttpFilterTypedConfig, PreparedFilter>();

  private constructor(entries: readonly Entry[], env: FilterEnv) {
    this.#entries = entries;
    this.#env = env;
  }

  /** The chain of an HCM's filters; undefined when there are none (the router alone: the fast path). */
  static compile(
    filters: readonly HttpFilterConfig[],
    registry: HttpFilterRegistry | undefined,
    env: FilterEnv,
  ): FilterChain | undefined {
    if (filters.length === 0) return undefined;
    const entries = filters.map((f): Entry => {
      const factory = registry?.get(f.typeName);
      // The decoder accepts only types the built-in registry has (a test holds the two together).
      if (factory === undefined) throw new Error(`HTTP filter ${f.name}: no filter registered for ${f.typeName}`);
      return { name: f.name, factory, prepared: factory.prepare(f, env) };
    });
    return new FilterChain(entries, env);
  }

  get length(): number {
    return this.#entries.length;
  }

  /**
   * Entry i's config for a request: its route's override, else its virtual host's, else what the route carries under
   * the filter type's fallback key, else the filter's own.
   */
  prepared(i: number, route: PerFilterConfigs | undefined, vhost: PerFilterConfigs | undefined): PreparedFilter {
    const entry = this.#entries[i] as Entry;
    const fallback = entry.factory.routeFallbackKey;
    const override =
      route?.[entry.name] ?? vhost?.[entry.name] ?? (fallback === undefined ? undefined : route?.[fallback]);
    if (override === undefined) return entry.prepared;
    let prepared = this.#overrides.get(override);
    if (prepared === undefined) {
      prepared = entry.factory.prepare(override, this.#env, entry.prepared);
      this.#overrides.set(override, prepared);
    }
    return prepared;
  }
}

/** One request's pass through the chain: a filter may hold it (a timer, a lookup) and hand it on later. */
export class FilterRun implements FilterStream {
  readonly #chain: FilterChain;
  readonly #view: RequestView;
  readonly #route: PerFilterConfigs | undefined;
  readonly #vhost: PerFilterConfigs | undefined;
  readonly #sink: FilterSink;
  readonly grpc: boolean;
  readonly forwarding: boolean;
  readonly clientAddress: string;
  readonly connection: DownstreamConnection;
  readonly rateLimits: readonly RateLimitSpec[];
  readonly #body: () => readonly Buffer[] | undefined;
  readonly #replaceBody: (body: Buffer) => boolean;
  readonly bufferLimitBytes: number;
  /** Filters created for this stream, told when it ends. */
  readonly #live: HttpFilter[] = [];
  #next = 0;
  #held = false;
  #ended = false;
  /** Inside a filter's phase: a continueRequest() from there takes effect when the phase returns. */
  #running = false;
  #resumedEarly = false;
  #state: Map<string, unknown> | undefined;
  readonly #bodyStreams: boolean;
  /** Request body transforms the filters installed, in the order the body goes through them. */
  #requestTransforms: BodyTransform[] | undefined;
  /**
   * How many of the live filters see a local reply's head: those before the one that answered (its own reply skips
   * it, as in Envoy); all of them for the router's replies.
   */
  #encoders: number | undefined;

  constructor(chain: FilterChain, view: RequestView, grpc: boolean, route: FilterRoute, sink: FilterSink) {
    this.#chain = chain;
    this.#view = view;
    this.grpc = grpc;
    this.forwarding = route.forwarding;
    this.clientAddress = route.clientAddress;
    this.connection = route.connection;
    this.rateLimits = route.rateLimits;
    this.#body = route.body;
    this.#replaceBody = route.replaceBody;
    this.#bodyStreams = route.bodyStreams;
    this.bufferLimitBytes = route.bufferLimitBytes;
    this.#route = route.perFilterConfig;
    this.#vhost = route.vhostPerFilterConfig;
    this.#sink = sink;
  }

  get method(): string {
    return this.#view.method;
  }

  get path(): string {
    return this.#view.path;
  }

  get authority(): string {
    return this.#view.authority;
  }

  header(name: string): string | undefined {
    return this.#view.header(name);
  }

  requestHeaders(): readonly string[] {
    return this.#view.headers;
  }

  replaceRequestBody(body: Buffer): boolean {
    return !this.#ended && this.#replaceBody(body);
  }

  transformRequestBody(transform: BodyTransform): boolean {
    if (this.#ended || !this.#bodyStreams) return false;
    if (this.#requestTransforms === undefined) this.#requestTransforms = [transform];
    else this.#requestTransforms.push(transform);
    headerRemove(this.#view.headers, 'content-length');
    return true;
  }

  /** What the streaming request body goes through (undefined: nothing). */
  get requestTransforms(): readonly BodyTransform[] | undefined {
    return this.#requestTransforms;
  }

  get query(): string {
    return this.#view.query;
  }

  requestBody(): Buffer | undefined {
    const chunks = this.#body();
    if (chunks === undefined || chunks.length === 0) return undefined;
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks as Buffer[]);
  }

  setRequestHeader(name: string, value: string | undefined): void {
    if (this.#ended || name.charCodeAt(0) === 58 /* : */ || name === 'host' || !HEADER_NAME.test(name)) return;
    // A value that could not go on the wire as it is (CR, LF, NUL, or what latin1 would fold into them) is refused:
    // a filter copying client-influenced data (a JWT claim) must not split the request head.
    if (value !== undefined && !HEADER_VALUE.test(value)) return;
    if (value === undefined) headerRemove(this.#view.headers, name);
    else headerSet(this.#view.headers, name, value);
  }

  get state(): Map<string, unknown> {
    if (this.#state === undefined) this.#state = new Map();
    return this.#state;
  }

  /** Runs the filters; true when all handed the request on at once (the caller routes it now), else false. */
  start(): boolean {
    return this.#advance();
  }

  continueRequest(): void {
    if (!this.#held || this.#ended) return;
    if (this.#running) {
      this.#resumedEarly = true;
      return;
    }
    this.#held = false;
    if (this.#advance()) this.#sink.filtersDone();
  }

  localReply(reply: LocalReply): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#held = true;
    // The filter whose phase runs (or last held the request) is the one answering.
    this.#encoders ??= Math.max(0, this.#live.length - 1);
    this.#sink.filterReplied(reply);
  }

  addFlag(flag: string): void {
    if (!this.#ended) this.#sink.addFlag(flag);
  }

  /**
   * The upstream response head: filters that asked to see it, last one first. Returns the body transforms they
   * installed, in the order the body goes through them (the filter nearest the router first), and the body that
   * replaces the upstream's, if a filter replaced it.
   */
  responseHeaders(head: ResponseHead, endStream: boolean): ResponseBodyPlan {
    const plan: ResponseBodyPlan = { transforms: undefined, replaced: undefined };
    for (let i = this.#live.length - 1; i >= 0; i--) {
      const filter = this.#live[i] as HttpFilter;
      if (filter.onResponseHeaders === undefined) continue;
      const ended = endStream && plan.replaced === undefined;
      let body: ReturnType<NonNullable<HttpFilter['onResponseHeaders']>>;
      try {
        body = filter.onResponseHeaders(head, ended);
      } catch {
        // A filter that throws here leaves the head as it was; the response goes on.
        continue;
      }
      if (body === undefined) continue;
      if ('replaceWith' in body) {
        // The upstream's body is gone: transforms installed for it have nothing to do.
        for (const t of plan.transforms ?? []) t.destroy();
        plan.transforms = undefined;
        plan.replaced = body.replaceWith;
      } else if (ended) body.destroy();
      else if (plan.transforms === undefined) plan.transforms = [body];
      else plan.transforms.push(body);
    }
    return plan;
  }

  /**
   * A local reply's head (the router's, or a filter's): the filters that came before the one answering see it, last
   * one first; it is the whole response, so no body transform is installed.
   */
  localReplyHeaders(status: number, headers: string[]): void {
    const end = this.#encoders ?? this.#live.length;
    for (let i = end - 1; i >= 0; i--) {
      const filter = this.#live[i] as HttpFilter;
      if (filter.onResponseHeaders === undefined) continue;
      try {
        const body = filter.onResponseHeaders({ status, headers, local: true }, true);
        if (body !== undefined && !('replaceWith' in body)) body.destroy();
      } catch {
        // As for upstream heads: the reply goes out as it was.
      }
    }
  }

  /** The upstream response's trailers: filters that asked to see them, last one first. */
  responseTrailers(trailers: string[]): void {
    for (let i = this.#live.length - 1; i >= 0; i--) {
      const filter = this.#live[i] as HttpFilter;
      if (filter.onResponseTrailers === undefined) continue;
      try {
        filter.onResponseTrailers(trailers);
      } catch {
        // A filter that throws here leaves the trailers as they were; the response completes.
      }
    }
  }

  /** The log phase: every live filter that asked hears how the stream ended, first one first. */
  log(log: StreamLog): void {
    for (const filter of this.#live) {
      if (filter.onLog === undefined) continue;
      try {
        filter.onLog(log);
      } catch {
        // The stream is over: a filter failing to log costs nothing but its own line.
      }
    }
  }

  /** The stream ended: every filter it created hears of it once. */
  destroy(): void {
    this.#ended = true;
    const transforms = this.#requestTransforms;
    if (transforms !== undefined) {
      this.#requestTransforms = undefined;
      for (const t of transforms) t.destroy();
    }
    for (const filter of this.#live) filter.onDestroy();
    this.#live.length = 0;
  }

  #advance(): boolean {
    while (this.#next < this.#chain.length) {
      let filter: HttpFilter | undefined;
      try {
        filter = this.#chain.prepared(this.#next, this.#route, this.#vhost).create(this);
      } catch {
        // The filter that threw never went live: every live one sees the 500.
        this.#encoders = this.#live.length;
        this.localReply(FILTER_FAILED);
        return false;
      }
      this.#next += 1;
      if (filter === undefined) continue;
      this.#live.push(filter);
      this.#held = true;
      this.#running = true;
      this.#resumedEarly = false;
      let status: FilterStatus;
      try {
        status = filter.onRequestHeaders(this);
      } catch {
        // A filter that throws fails its request, never the proxy.
        this.#running = false;
        this.localReply(FILTER_FAILED);
        return false;
      }
      this.#running = false;
      // A reply from inside the phase ended the run; the sink has it.
      if (this.#ended) return false;
      if (status === 'stop' && !this.#resumedEarly) return false;
      this.#held = false;
    }
    return true;
  }
}
