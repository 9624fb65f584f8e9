// What a filter written in TypeScript is written against: `export default` an object with these hooks. The filter
// runs in a sandbox of its own (no modules, no I/O, no timers), one call at a time under a time budget.

/** The request as a filter sees it (in its request hook). */
export interface FilterRequest {
  readonly method: string;
  /** The path as routed, without the query. */
  readonly path: string;
  /** The query string with its `?`, or ''. */
  readonly query: string;
  readonly authority: string;
  /** The trusted client address. */
  readonly clientAddress: string;
  /** A request header's first value (lower-case name). */
  header(name: string): string | undefined;
  /** Sets (or, with undefined, removes) a request header going upstream. */
  setHeader(name: string, value: string | undefined): void;
  /** The request body as text when the sidecar read it whole before routing (bodies up to its buffer limit). */
  readonly body: string | undefined;
}

/** The upstream response as a filter sees it (in its response hook). */
export interface FilterResponse {
  readonly status: number;
  header(name: string): string | undefined;
  /** Sets (or, with undefined, removes) a response header going to the client. */
  setHeader(name: string, value: string | undefined): void;
}

/** The upstream response's trailers (gRPC's grpc-status and grpc-message live here), in onResponseTrailers. */
export interface FilterTrailers {
  header(name: string): string | undefined;
  /** Sets (or, with undefined, removes) a trailer going to the client. */
  setHeader(name: string, value: string | undefined): void;
}

/** How the request ended, in onLog (after the response went out, or the stream failed). */
export interface FilterLogEntry {
  /** The status sent to the client (0 when it went away before any response). */
  readonly status: number;
  /** grpc-status of a gRPC call, when one was seen; null otherwise. */
  readonly grpcStatus: number | null;
  /** Envoy response flags ('UF', 'UO', 'NR', 'DI', …), '' when none. */
  readonly flags: string;
  /** The route's name and the cluster the request went to ('' when none). */
  readonly route: string;
  readonly cluster: string;
  /** Upstream attempts (0 for the proxy's own replies; more than 1 after retries). */
  readonly attempts: number;
  /** The last attempt's upstream `address:port`; null when there was none. */
  readonly upstreamAddress: string | null;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  /** The client's stream was reset rather than completed. */
  readonly reset: boolean;
  /** Milliseconds from the request head to the end. */
  readonly durationMs: number;
}

/** What the sandbox gives a filter besides the request or response. */
export interface FilterContext {
  /** The filter's `config` from its resource (JSON). */
  readonly config: unknown;
  /** The route's override of it (a per-route `config`), when the request's route has one. */
  readonly routeConfig: unknown;
  /** A small key-value state of this request, shared by its hooks, from onRequest to onLog. */
  readonly state: Map<string, unknown>;
  /** Counts an event: the sidecar's counter `http.<prefix>.typescript_filter.<filter>.count.<name>`. */
  count(name: string): void;
  /** A line in the sidecar's log (info, with the filter's name); at most 16 lines of 1 KiB per call. */
  log(message: string): void;
  /** HMAC-SHA-256 of `data` with `key` (both UTF-8), as lower-case hex. */
  hmacSha256Hex(key: string, data: string): string;
  /** SHA-256 of `data` (UTF-8), as lower-case hex. */
  sha256Hex(data: string): string;
}

/** An answer a filter gives instead of the upstream's. */
export interface FilterReply {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

export interface TrellisFilter {
  /** Before the request is forwarded: return a reply to answer it here, or nothing to let it go on. */
  onRequest?(request: FilterRequest, context: FilterContext): FilterReply | undefined;
  /** The upstream's response head, before it goes to the client. */
  onResponse?(response: FilterResponse, context: FilterContext): void;
  /** The upstream's response trailers (when it sent any), before they go to the client. */
  onResponseTrailers?(trailers: FilterTrailers, context: FilterContext): void;
  /**
   * The log phase: the request is over, however it ended. `context.count` and `context.log` work here; the state is
   * the one the request's other hooks saw.
   */
  onLog?(entry: FilterLogEntry, context: FilterContext): void;
}
