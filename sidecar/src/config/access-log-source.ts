// What an access log line is made of: one finished HTTP request or TCP connection, as command operators read it.

export interface LogSource {
  /** Date.now() when the request (connection) began. */
  readonly startTime: number;
  readonly durationMs: number;
  /** 'HTTP/1.1' or 'HTTP/2'; undefined for TCP. */
  readonly protocol: string | undefined;
  /** The status sent downstream (0 when none: TCP, or the client went away first). */
  readonly responseCode: number;
  /** Envoy response flags ('UF', 'NR', …), '' when none. */
  readonly flags: string;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  /** `address:port` of the last upstream host, when there was one. */
  readonly upstreamHost: string | undefined;
  readonly upstreamCluster: string | undefined;
  readonly downstreamRemoteAddress: string | undefined;
  readonly downstreamLocalAddress: string | undefined;
  /** Under mesh mTLS: the client certificate's URI SAN (its SPIFFE id), and ours. */
  readonly downstreamPeerUriSan: string | undefined;
  readonly downstreamLocalUriSan: string | undefined;
  readonly routeName: string | undefined;
  readonly grpcStatus: number | undefined;
  readonly attempts: number | undefined;
  readonly connectionId: number | undefined;
  /** A request header by lower-case name; ':method', ':path', ':authority', ':scheme' read the request head. */
  requestHeader(name: string): string | undefined;
  responseHeader(name: string): string | undefined;
  /** The W3C trace id (32 hex) of the request's traceparent, when it has one. */
  traceId(): string | undefined;
}

/** The trace id of a W3C traceparent header value (`00-<trace id>-<span id>-<flags>`), undefined when malformed. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  if (traceparent === undefined || traceparent.length < 55 || traceparent.charCodeAt(2) !== 45 /* - */)
    return undefined;
  const id = traceparent.slice(3, 35);
  return /^[0-9a-f]{32}$/.test(id) && id !== '00000000000000000000000000000000' ? id : undefined;
}
