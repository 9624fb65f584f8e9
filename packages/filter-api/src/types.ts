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

/** What the sandbox gives a filter besides the request or response. */
export interface FilterContext {
  /** The filter's `config` from its resource (JSON). */
  readonly config: unknown;
  /** The route's override of it (a per-route `config`), when the request's route has one. */
  readonly routeConfig: unknown;
  /** A small key-value state of this request, from the request hook to the response hook. */
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
}
