// What a reply the proxy makes itself says (status, body, response flags): built by the router and HTTP filters.

/** Envoy response flags used by the router. */
export const ResponseFlag = {
  NoRoute: 'NR',
  NoCluster: 'NC',
  NoHealthyUpstream: 'UH',
  UpstreamOverflow: 'UO',
  UpstreamConnectionFailure: 'UF',
  UpstreamReset: 'UR',
  UpstreamRequestTimeout: 'UT',
  StreamIdleTimeout: 'SI',
  UpstreamProtocolError: 'UPE',
  DownstreamProtocolError: 'DPE',
  DownstreamConnectionTermination: 'DC',
} as const;

export interface LocalReply {
  status: number;
  /** Text, or bytes (a cached response's body). */
  body: string | Buffer;
  /** Response flag for x-trellis-response-flags ('' for direct responses). */
  flags: string;
  overloaded?: boolean;
  /** Overrides the grpc-status derived from the HTTP status (e.g. DEADLINE_EXCEEDED for grpc-timeout). */
  grpcStatus?: number;
  /** A redirect's Location (path normalization's 307). */
  location?: string;
  /** More response headers (lower-case names, flat `[name, value, …]`), e.g. a rate limit's retry-after. */
  headers?: readonly string[];
  /**
   * A stored response served again (a cache hit): its headers are final (the route's response mutations were applied
   * when it was stored), so none are applied again and no Content-Type is added.
   */
  stored?: boolean;
}

/** A path a route's regex rewrite gave up on (its searches would read far past the path: a hostile path). */
export const UNREWRITABLE: LocalReply = {
  status: 400,
  body: 'path cannot be rewritten',
  flags: ResponseFlag.DownstreamProtocolError,
};
