// The HTTP filter contract: what a filter sees of one request stream, and what it may do in each phase.
import type { Transform } from 'node:stream';
import type { Logger } from 'pino';
import type { DownstreamConnection } from '../../common/downstream-connection.ts';
import type { Stats } from '../../common/stats.ts';
import type { HttpFilterTypedConfig, RateLimitSpec } from '../../config/model.ts';
import type { LocalReply } from '../message/reply.ts';

/**
 * A response body rewriter a filter installs from its response-headers phase (a compressor, a cache fill): the
 * upstream's bytes go in, what comes out goes on downstream. A body that arrives whole with its end (a small response)
 * takes `whole`, synchronously; otherwise `stream()` is made on the first chunk and the bytes stream through it with
 * backpressure both ways. Destroyed however the stream ends.
 */
export interface BodyTransform {
  /** The transform of a whole body at once; undefined when this body should stream instead (e.g. it is large). */
  whole?(body: Buffer): Buffer | undefined;
  /** The streaming transform, made at most once, on first use. */
  stream(): Transform;
  /** The stream ended (or the transform is not needed): release what it holds. */
  destroy(): void;
}

/**
 * A request body transform's failure that answers the client with its own 4xx (e.g. 413 for a decompression bomb);
 * any other error a request transform fails with answers 400.
 */
export class RequestBodyError extends Error {
  readonly status: number;

  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

/** An upstream response head on its way downstream: filters may change the status and the headers. */
export interface ResponseHead {
  status: number;
  /** Flat `[name, value, …]`, lower-case names. */
  readonly headers: string[];
  /** The proxy's own answer (the router's or a filter's local reply), not the upstream's: its body is not for a cache. */
  readonly local?: boolean;
}

/**
 * What a response-headers phase installs for the body: a transform of the upstream's body, or a whole body that
 * replaces it (a cache answering a 304 with what it holds); the filters before it see the replacement as the body.
 */
export type ResponseBody = BodyTransform | { readonly replaceWith: Buffer };

/** What a filter's request-headers phase returns: hand on to the next filter, or hold the stream. */
export type FilterStatus = 'continue' | 'stop';

/** One request stream as a filter sees it. */
export interface FilterStream {
  readonly method: string;
  /** The request path as routed (after the connection manager's normalization). */
  readonly path: string;
  readonly authority: string;
  /** A gRPC call (content-type application/grpc): local replies go out as gRPC statuses. */
  readonly grpc: boolean;
  /** The request matched a route that forwards upstream (not a redirect or a direct response, nor no route). */
  readonly forwarding: boolean;
  /** The trusted client address (the peer, or from X-Forwarded-For by the connection manager's trusted hops). */
  readonly clientAddress: string;
  /** The connection the request came on: addresses, SNI, the peer's verified mesh identity. */
  readonly connection: DownstreamConnection;
  /** The route's `rate_limits` (else its virtual host's): the descriptors for rate limit filters. */
  readonly rateLimits: readonly RateLimitSpec[];
  /** The first value of a request header (lower-case name; ':method', ':path', ':authority' too). */
  header(name: string): string | undefined;
  /**
   * Sets (replaces every value of) a request header going upstream; undefined removes it. For end-to-end headers
   * (lower-case names), in the request-headers phase; the route was already picked. A name or value that is not
   * valid on the wire (CR, LF, NUL, characters beyond latin1) is ignored.
   */
  setRequestHeader(name: string, value: string | undefined): void;
  /** What the stream's filters share (e.g. the encodings its compressors offer), by key; made on first use. */
  readonly state: Map<string, unknown>;
  /** The request headers going upstream (flat `[name, value, …]`, lower-case names; read-only). */
  requestHeaders(): readonly string[];
  /** The query string with its `?`, or ''. */
  readonly query: string;
  /**
   * The request body when the connection manager read it whole before routing (bodies up to its buffer limit);
   * undefined when there is none or it streams.
   */
  requestBody(): Buffer | undefined;
  /** Replaces a request body that was read whole (false when it streams: nothing changed). */
  replaceRequestBody(body: Buffer): boolean;
  /**
   * The request body phase for a body that streams (larger than the buffer limit, or a gRPC call): it goes upstream
   * through `transform.stream()` (filters in order, with backpressure), and its content-length is dropped (the length
   * changes; HTTP/1.1 upstreams get it chunked). A transform that fails answers the client 400 (or a
   * RequestBodyError's status) and resets the upstream request. False when there is no streaming body (none, or one
   * read whole: use requestBody() and replaceRequestBody()). In the request-headers phase.
   */
  transformRequestBody(transform: BodyTransform): boolean;
  /** The connection manager's request buffer limit: what a filter may hold of a body at most. */
  readonly bufferLimitBytes: number;
  /** After 'stop': hands the stream on to the next filter (at most once per stop; ignored once the stream ended). */
  continueRequest(): void;
  /** Answers the request itself; no later filter and no upstream sees it. */
  localReply(reply: LocalReply): void;
  /** Adds an Envoy response flag to what observers (access log) report, e.g. DI for an injected delay. */
  addFlag(flag: string): void;
}

/**
 * What the log phase sees of a finished stream (Envoy's stream info, as access logs read it): how it ended, where it
 * went, how long it took. Read-only, and only during onLog.
 */
export interface StreamLog {
  /** The status sent downstream (0 when the client went away before any response). */
  readonly status: number;
  /** grpc-status from the response head or trailers, for gRPC calls that saw one. */
  readonly grpcStatus?: number | undefined;
  /** Envoy response flags ('UF', 'UO', 'NR', 'DI', …), '' when none. */
  readonly flags: string;
  /** The route's name and the cluster the router picked ('' when none). */
  readonly routeName: string;
  readonly cluster: string;
  /** Upstream attempts made (0 for local replies); attempts - 1 retries. */
  readonly attempts: number;
  /** The last attempt's upstream `address:port`, when there was one. */
  readonly upstreamAddress: string | undefined;
  /** Request body bytes read from the client, response body bytes sent to it. */
  readonly bytesReceived: number;
  readonly bytesSent: number;
  /** The downstream stream was reset (an upstream failure after the head, a timeout, the client went away). */
  readonly reset: boolean;
  /** Milliseconds from the request head to the stream's end. */
  readonly durationMs: number;
}

/** One filter's state for one stream; created per stream only by the filters configured for it. */
export interface HttpFilter {
  /** Request headers, before the router picks an upstream: 'stop' holds the stream until continue or reply. */
  onRequestHeaders(stream: FilterStream): FilterStatus;
  /**
   * The upstream response's head before it goes downstream (filters in reverse order, as Envoy's encoders): the
   * filter may change the status and add, change or remove headers, and may return what to do with the body that
   * follows (a transform is ignored when `endStream`: the head is the whole response).
   */
  onResponseHeaders?(head: ResponseHead, endStream: boolean): ResponseBody | undefined;
  /**
   * The upstream response's trailers (filters in reverse order, after the body went through their transforms): flat
   * `[name, value, …]`, lower-case names; the filter may change, add or remove entries in place (gRPC's grpc-status
   * and grpc-message live here).
   */
  onResponseTrailers?(trailers: string[]): void;
  /** The log phase: the stream is over (however it ended); what it did, once, before onDestroy. */
  onLog?(log: StreamLog): void;
  /** The stream ended however it ended (finished, reset, timed out): drop timers and give back what is held. */
  onDestroy(): void;
}

/** What a filter type may use from the connection manager it runs in. */
export interface FilterEnv {
  stats: Stats;
  /** The sidecar's log (filters that log: TypeScript filters' `context.log`). */
  logger?: Logger;
  /** The connection manager's stat prefix (its stats are `http.<prefix>.<filter>.…`, as Envoy's). */
  statPrefix: string;
}

/** A filter type, registered by its typed_config message type. */
export interface HttpFilterFactory {
  /**
   * A per-route config key read when a route and its virtual host configure nothing under the filter's name: where
   * the route decoder puts what routes carry in fields of their own (the legacy `cors`).
   */
  readonly routeFallbackKey?: string;
  /**
   * Prepares what streams share for one config (once per connection manager or route config); for a route's or
   * virtual host's override, `base` is the connection manager's own prepared config (what the override changes).
   */
  prepare(config: HttpFilterTypedConfig, env: FilterEnv, base?: PreparedFilter): PreparedFilter;
}

/** A config ready to run: makes a filter for a stream, or undefined when it has nothing to do for it. */
export interface PreparedFilter {
  create(stream: FilterStream): HttpFilter | undefined;
}
