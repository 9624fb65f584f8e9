// The sidecar's validated, immutable config model: what xDS resources decode into, and what the data path reads.

import type { Re2, Re2Rewrite } from '@trellis/re2';
import { EXTENSION_TYPES } from '@trellis/xds-protos';

/**
 * A string matcher (Envoy StringMatcher subset). `regex` is an RE2 pattern compiled once at decode time; like
 * Envoy's safe_regex it must match the whole value, and it runs in time linear in the value.
 */
export type StringMatcher =
  | { kind: 'exact'; value: string; ignoreCase: boolean }
  | { kind: 'prefix'; value: string; ignoreCase: boolean }
  | { kind: 'suffix'; value: string; ignoreCase: boolean }
  | { kind: 'contains'; value: string; ignoreCase: boolean }
  | { kind: 'regex'; regex: Re2 };

export interface HeaderMatch {
  /** Lower-case header name; ':method', ':authority', ':path' are pseudo headers. */
  name: string;
  /** undefined = presence only. */
  matcher?: StringMatcher;
  present?: boolean;
  invert: boolean;
}

export interface QueryMatch {
  name: string;
  matcher?: StringMatcher;
  present?: boolean;
}

export interface RouteMatch {
  path:
    | { kind: 'prefix' | 'exact'; value: string; ignoreCase: boolean }
    | { kind: 'regex'; regex: Re2 }
    | { kind: 'connect' };
  headers: HeaderMatch[];
  query: QueryMatch[];
}

export interface WeightedCluster {
  name: string;
  weight: number;
}

/** The command operators a request header value may use (Envoy's substitution format). */
export type HeaderValueOperator =
  | 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT'
  | 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT'
  | 'HOSTNAME';

/** A piece of a header value with command operators: literal text, or an operator rendered per request. */
export type HeaderValuePart = string | { operator: HeaderValueOperator };

export interface HeaderValueOption {
  name: string;
  /** The value as configured (`%%` already unescaped when it has no operators). */
  value: string;
  /** 'append' adds another value; 'overwrite' replaces; 'add-if-absent' only when missing. */
  action: 'append' | 'overwrite' | 'add-if-absent';
  /** Present when the value has command operators (`%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%`): rendered per request. */
  format?: readonly HeaderValuePart[];
}

export interface HeaderOps {
  add: HeaderValueOption[];
  remove: string[];
}

export interface RetryPolicy {
  retryOn: string[];
  numRetries: number;
  perTryTimeoutMs: number;
  retriableStatusCodes: number[];
  /** retry_back_off; absent = the sidecar's defaults (25ms base, 250ms max). maxMs is 10 × base when not given. */
  backOff?: { baseMs: number; maxMs: number };
}

export interface HashPolicy {
  kind: 'header' | 'cookie' | 'source-ip' | 'query';
  name: string;
  terminal: boolean;
  cookieTtlMs?: number;
  cookiePath?: string;
}

export interface RouteAction {
  /** One cluster (weight 1) or several with weights. */
  clusters: WeightedCluster[];
  totalWeight: number;
  prefixRewrite?: string;
  /** Envoy regex_rewrite: every match of `regex` replaced by the RE2 rewrite (\1 a group, \0 the whole match). */
  regexRewrite?: { regex: Re2; substitution: Re2Rewrite };
  hostRewrite?: string;
  /** 0 = no route timeout. */
  timeoutMs: number;
  idleTimeoutMs?: number;
  retry?: RetryPolicy;
  hashPolicy: HashPolicy[];
  /** Upgrades allowed on this route, e.g. 'websocket', 'CONNECT'. */
  upgrades: string[];
  /** `request_mirror_policies`: copies of a share of the requests to shadow clusters, fire and forget. */
  mirrors?: MirrorPolicy[];
  /** `rate_limits`: the descriptors requests on this route carry to rate limit filters (else the virtual host's). */
  rateLimits?: RateLimitSpec[];
}

/** One `rate_limits` entry: its actions make one descriptor (every action must yield an entry, or there is none). */
export interface RateLimitSpec {
  /** `stage`: only filters of the same stage read it (the sidecar's filters are stage 0). */
  stage: number;
  actions: RateLimitAction[];
}

/** A rate limit action: one descriptor entry from the request. */
export type RateLimitAction =
  /** `remote_address`: ('remote_address', the trusted client address). */
  | { kind: 'remote_address' }
  /** `request_headers`: (descriptorKey, the header's value); absent header: no descriptor, or no entry (skipIfAbsent). */
  | { kind: 'request_headers'; header: string; descriptorKey: string; skipIfAbsent: boolean }
  /** `generic_key`: (descriptorKey or 'generic_key', the fixed value). */
  | { kind: 'generic_key'; descriptorKey: string; value: string }
  /** `header_value_match`: (descriptorKey or 'header_match', value) when the headers match (or not, expectMatch false). */
  | { kind: 'header_value_match'; descriptorKey: string; value: string; expectMatch: boolean; headers: HeaderMatch[] };

/** A descriptor entry of the local rate limit filter's `descriptors`; an empty value matches any (a bucket per value). */
export interface DescriptorEntry {
  key: string;
  value: string;
}

export interface MirrorPolicy {
  cluster: string;
  /** The share of requests copied (`runtime_fraction.default_value`; unset: all). */
  fraction: Fraction;
  /** Append `-shadow` to the copy's host (Envoy's default; `disable_shadow_host_suffix_append` turns it off). */
  shadowSuffix: boolean;
}

/** Envoy's RedirectAction: the Location a redirect answers with, from the request's URL with these parts replaced. */
export interface RedirectAction {
  /** `scheme_redirect`, or 'https' for `https_redirect`. */
  scheme?: string;
  /** `host_redirect` (the request's port is dropped unless `port` is set). */
  host?: string;
  /** `port_redirect`. */
  port?: number;
  /** `path_redirect`: the whole path (a query in it replaces the request's). */
  path?: string;
  /** `prefix_rewrite`: the matched path prefix is replaced by this. */
  prefix?: string;
  /** 301, 302, 303, 307 or 308 (`response_code`). */
  status: number;
  stripQuery: boolean;
}

export interface Route {
  name: string;
  match: RouteMatch;
  /** Either forward to clusters, or answer directly. */
  action:
    | { type: 'route'; route: RouteAction }
    | { type: 'direct'; status: number; body: string }
    | { type: 'redirect'; redirect: RedirectAction };
  requestHeaders: HeaderOps;
  responseHeaders: HeaderOps;
  /** `typed_per_filter_config` by HTTP filter name: replaces that filter's config on this route. */
  perFilterConfig?: PerFilterConfigs;
}

/** A share of requests, Envoy's FractionalPercent: numerator out of denominator (100, 10,000 or 1,000,000). */
export interface Fraction {
  numerator: number;
  denominator: number;
}

/** envoy.filters.http.fault (`HTTPFault`): delay and abort a share of the requests whose headers match. */
export interface FaultConfig {
  /** Delay by fixedDelayMs, or (header) by the request's `x-envoy-fault-delay-request` milliseconds. */
  delay?: { fixedDelayMs: number | undefined; percentage: Fraction };
  /**
   * Answer with httpStatus or (gRPC) grpcStatus; neither: the request's `x-envoy-fault-abort-request` (HTTP status) or
   * `x-envoy-fault-abort-grpc-request` (gRPC status) header says.
   */
  abort?: { httpStatus?: number; grpcStatus?: number; percentage: Fraction };
  /** Only requests matching all of these. */
  headers: HeaderMatch[];
  /** Faults (delayed or aborted requests) in progress at once; beyond it requests pass untouched. */
  maxActiveFaults: number | undefined;
}

/** Envoy's `type.v3.TokenBucket`: max_tokens, tokens_per_fill every fill_interval. */
export interface TokenBucketSpec {
  maxTokens: number;
  tokensPerFill: number;
  fillIntervalMs: number;
}

/** envoy.filters.http.local_ratelimit (`LocalRateLimit`): one token bucket per config, shared by its requests. */
export interface LocalRateLimitConfig {
  statPrefix: string;
  /** The bucket; undefined: no limit (a connection manager's filter whose routes carry their own). */
  tokenBucket: TokenBucketSpec | undefined;
  /** Share of requests the limit is checked for (`filter_enabled`; unset: 0 %, as in Envoy). */
  enabled: Fraction;
  /** Share of the checked requests a spent bucket refuses (`filter_enforced`; unset: 0 %). */
  enforced: Fraction;
  /** The status of a refused request (`status`; default 429). */
  status: number;
  /** gRPC callers get RESOURCE_EXHAUSTED instead of UNAVAILABLE (`rate_limited_as_resource_exhausted`). */
  resourceExhausted: boolean;
  /** `enable_x_ratelimit_headers: DRAFT_VERSION_03`: responses carry x-ratelimit-limit, -remaining and -reset. */
  rateLimitHeaders: boolean;
  /**
   * `descriptors`: buckets for requests whose route descriptors match (verbatim; an empty value matches any value,
   * with a bucket per value, at most a bounded number of them).
   */
  descriptors: { entries: DescriptorEntry[]; tokenBucket: TokenBucketSpec }[];
  /** `always_consume_default_token_bucket` (default true): the default bucket counts matched requests too. */
  alwaysConsumeDefault: boolean;
}

/** A content-coding the compressor filter produces (the Accept-Encoding / Content-Encoding token). */
export type ContentCoding = 'gzip' | 'br' | 'zstd';

/** envoy.filters.http.compressor's `compressor_library`: the coding and its node:zlib options. */
export type CompressorLibrary =
  | {
      coding: 'gzip';
      /** `compression_level` (1-9; DEFAULT_COMPRESSION is 6, as zlib's). */
      level: number;
      /** `memory_level` (1-9; default 5). */
      memLevel: number;
      /** `window_bits` (9-15; default 12). */
      windowBits: number;
      /** zlib's strategy constant (`compression_strategy`). */
      strategy: number;
      chunkSize: number;
    }
  | {
      coding: 'br';
      /** `quality` (0-11; default 3). */
      quality: number;
      /** BROTLI_MODE_* (`encoder_mode`). */
      mode: number;
      /** `window_bits` (10-24; default 18). */
      windowBits: number;
      /** `input_block_bits` (16-24; default 24). */
      inputBlockBits: number;
      disableLiteralContextModeling: boolean;
      chunkSize: number;
    }
  | {
      coding: 'zstd';
      /** `compression_level` (default 3, zstd's). */
      level: number;
      checksum: boolean;
      /** ZSTD strategy (`strategy`; 0 = the level's own). */
      strategy: number;
      chunkSize: number;
    };

/** envoy.filters.http.compressor (`Compressor`): compresses responses the client accepts in this coding. */
export interface CompressorConfig {
  /** `compressor_library.name`: the stats' scope (`http.<prefix>.compressor.<name>.<library>.*`). */
  name: string;
  library: CompressorLibrary;
  /** Response compression on (`response_direction_config.common_config.enabled`; default true). */
  enabled: boolean;
  /** Responses with a smaller Content-Length pass as they are (`min_content_length`; default 30). */
  minContentLength: number;
  /** Media types compressed (lower-case, no parameters); Envoy's default list when none are configured. */
  contentTypes: readonly string[];
  /** Responses with an ETag pass as they are (`disable_on_etag_header`); else a strong ETag becomes weak. */
  disableOnEtag: boolean;
  /** Accept-Encoding is not forwarded upstream (`remove_accept_encoding_header`). */
  removeAcceptEncoding: boolean;
  /** Wins ties of q-values between the stream's compressors (`choose_first`). */
  chooseFirst: boolean;
}

/** envoy.filters.http.compressor's `CompressorPerRoute`: off for the route, or one override. */
export interface CompressorPerRouteConfig {
  disabled: boolean;
  removeAcceptEncoding: boolean | undefined;
}

/**
 * A CORS policy (envoy.filters.http.cors's per-route `CorsPolicy`, or a route's or virtual host's legacy `cors`): an
 * unset field falls back to the virtual host's policy, as in Envoy.
 */
export interface CorsPolicyConfig {
  /** `allow_origin_string_match`: the Origin values answered (a matcher that matches `*` allows any). */
  allowOrigins?: readonly StringMatcher[];
  /** `allow_methods` (`*`: echo Access-Control-Request-Method). */
  allowMethods?: string;
  /** `allow_headers` (`*`: echo Access-Control-Request-Headers). */
  allowHeaders?: string;
  exposeHeaders?: string;
  maxAge?: string;
  allowCredentials?: boolean;
  allowPrivateNetworkAccess?: boolean;
  /** Preflights from origins not allowed go on upstream (default true) instead of a bare 200. */
  forwardNotMatchingPreflights?: boolean;
  /** Legacy `filter_enabled` (default 100 %); the typed policy is always on. */
  enabled?: Fraction;
  /** Legacy `shadow_enabled`: judge the origin (stats) without acting on it. */
  shadow?: Fraction;
}

/** envoy.filters.http.cache (`CacheConfig` with the in-memory SimpleHttpCacheConfig): an RFC 9111 shared cache. */
export interface CacheFilterConfig {
  /** `disabled` (a route's override turns the cache off for it). */
  disabled: boolean;
  /** Headers a response may vary on (`allowed_vary_headers`); a response varying on others is not stored. */
  allowedVaryHeaders: readonly StringMatcher[];
  /** `key_creator_params`: leave the scheme or the host out of the cache key. */
  excludeScheme: boolean;
  excludeHost: boolean;
  /** Bodies above this are not stored (`max_body_bytes`; 0: the store's own per-entry bound). */
  maxBodyBytes: number;
  /** Requests' Cache-Control and Pragma are not read (`ignore_request_cache_control_header`). */
  ignoreRequestCacheControl: boolean;
}

/** A filter written in TypeScript (`trellis.filters.v1.TypeScriptFilter` in an `xds.type.v3.TypedStruct`). */
export interface TypeScriptFilterConfig {
  name: string;
  /** The module's source (TypeScript or JavaScript) exporting the filter by default. */
  source: string;
  /** JSON handed to the filter as `context.config`. */
  config: unknown;
  /** The budget of one hook call (and of the module's top-level code). */
  timeoutMs: number;
}

/** envoy.filters.http.decompressor (`Decompressor`): undoes one content-coding of request and response bodies. */
export interface DecompressorConfig {
  /** `decompressor_library.name`: the stats' scope. */
  name: string;
  coding: ContentCoding;
  /** gzip `window_bits` (9-15; default 15). */
  windowBits: number;
  chunkSize: number;
  /** gzip `max_inflate_ratio` (default 100; brotli and zstd: 100 too): more output per input byte is a bomb. */
  maxInflateRatio: number;
  request: { enabled: boolean; ignoreNoTransform: boolean; advertiseAcceptEncoding: boolean };
  response: { enabled: boolean; ignoreNoTransform: boolean };
}

/** A route's word on a TypeScript filter (`trellis.filters.v1.TypeScriptFilterPerRoute`): off, or its own config. */
export interface TypeScriptFilterPerRouteConfig {
  disabled: boolean;
  /** Handed to the filter as `context.routeConfig`. */
  config: unknown;
}

/** A decoded HTTP filter config; `typeName` is its typed_config's message type (the registry's key). */
/** An IP range (RBAC's CidrRange): a v4 or v6 address prefix and its length. */
export interface CidrRange {
  address: string;
  prefixLen: number;
}

/** What a request (or connection) does, for RBAC: Envoy's config.rbac.v3.Permission. */
export type RbacPermission =
  | { kind: 'any' }
  | { kind: 'and' | 'or'; rules: RbacPermission[] }
  | { kind: 'not'; rule: RbacPermission }
  | { kind: 'header'; header: HeaderMatch }
  | { kind: 'path'; path: StringMatcher }
  | { kind: 'destinationIp'; cidr: CidrRange }
  | { kind: 'destinationPort'; port: number }
  | { kind: 'destinationPortRange'; start: number; end: number }
  | { kind: 'serverName'; name: StringMatcher };

/** A value in a filter's per-request metadata (Envoy's ValueMatcher): a string, presence, or any element of a list. */
export type MetadataValueMatch =
  | { kind: 'string'; matcher: StringMatcher }
  | { kind: 'present' }
  | { kind: 'bool'; value: boolean }
  | { kind: 'list'; oneOf: MetadataValueMatch };

/** A filter's per-request metadata at a path (Envoy's MetadataMatcher), e.g. the JWT payload jwt_authn verified. */
export interface MetadataMatch {
  filter: string;
  path: string[];
  value: MetadataValueMatch;
  invert: boolean;
}

/** Who makes it, for RBAC: Envoy's config.rbac.v3.Principal. */
export type RbacPrincipal =
  | { kind: 'any' }
  | { kind: 'and' | 'or'; ids: RbacPrincipal[] }
  | { kind: 'not'; id: RbacPrincipal }
  /** A verified client certificate; with a matcher, its URI SAN (SPIFFE id) must match. */
  | { kind: 'authenticated'; name?: StringMatcher }
  /** The connection's peer address, or the trusted client address (X-Forwarded-For by the connection manager). */
  | { kind: 'directRemoteIp' | 'remoteIp'; cidr: CidrRange }
  | { kind: 'header'; header: HeaderMatch }
  | { kind: 'path'; path: StringMatcher }
  /** The request's filter metadata: what jwt_authn verified (a request principal, claims). */
  | { kind: 'metadata'; metadata: MetadataMatch };

/** A named policy: it matches when one of its permissions and one of its principals match. */
export interface RbacPolicy {
  name: string;
  permissions: RbacPermission[];
  principals: RbacPrincipal[];
}

/** RBAC rules: ALLOW lets only what a policy matches through, DENY stops it, LOG only counts it. */
export interface RbacRules {
  action: 'ALLOW' | 'DENY' | 'LOG';
  /** In name order (Envoy's policies map). */
  policies: RbacPolicy[];
}

/** envoy.extensions.filters.http.rbac.v3.RBAC (and the network filter's): enforced rules, shadow rules (stats). */
export interface RbacConfig {
  rules?: RbacRules;
  shadowRules?: RbacRules;
  rulesStatPrefix: string;
  shadowRulesStatPrefix: string;
}

/** envoy.extensions.filters.network.rbac.v3.RBAC: checked once per connection, when it is accepted. */
export interface NetworkRbacConfig extends RbacConfig {
  /** Stats: `<stat_prefix>rbac.allowed` … (Envoy's network RBAC namespace). */
  statPrefix: string;
}

/** One JWT issuer (envoy jwt_authn JwtProvider): where its tokens are, its keys, what is passed on. */
export interface JwtProviderConfig {
  name: string;
  issuer: string;
  /** Empty: any audience. */
  audiences: string[];
  /** The JWKS: inline JSON, or a file the sidecar reads (and re-reads when it changes). */
  jwks: { inline: string } | { file: string };
  /** Lower-case header names and the prefix before the token (`Bearer `). */
  fromHeaders: { name: string; prefix: string }[];
  fromParams: string[];
  fromCookies: string[];
  /** Keep the token in the request (default: removed before the app sees it). */
  forward: boolean;
  /** The metadata key the verified payload goes under (namespace envoy.filters.http.jwt_authn). */
  payloadInMetadata?: string;
  /** A header carrying the verified payload (base64url JSON). */
  forwardPayloadHeader?: string;
  /** Claims copied into request headers (lower-case names). */
  claimToHeaders: { header: string; claim: string }[];
  clockSkewSeconds: number;
}

/** What a route requires (envoy jwt_authn JwtRequirement). */
export type JwtRequirement =
  | { kind: 'provider'; name: string }
  | { kind: 'any' | 'all'; of: JwtRequirement[] }
  | { kind: 'allowMissing' }
  | { kind: 'allowMissingOrFailed' };

/** envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication: providers, and rules (first match) by path. */
export interface JwtAuthnConfig {
  providers: JwtProviderConfig[];
  rules: { match: { kind: 'prefix' | 'exact'; value: string }; requires?: JwtRequirement }[];
}

export type HttpFilterTypedConfig =
  | { typeName: typeof FAULT_TYPE; config: FaultConfig }
  | { typeName: typeof JWT_AUTHN_TYPE; config: JwtAuthnConfig }
  | { typeName: typeof RBAC_TYPE; config: RbacConfig }
  | { typeName: typeof LOCAL_RATELIMIT_TYPE; config: LocalRateLimitConfig }
  | { typeName: typeof COMPRESSOR_TYPE; config: CompressorConfig }
  | { typeName: typeof COMPRESSOR_PER_ROUTE_TYPE; config: CompressorPerRouteConfig }
  | { typeName: typeof CORS_TYPE; config: Record<string, never> }
  | { typeName: typeof CORS_POLICY_TYPE; config: CorsPolicyConfig }
  | { typeName: typeof CACHE_TYPE; config: CacheFilterConfig }
  | { typeName: typeof TYPESCRIPT_FILTER_TYPE; config: TypeScriptFilterConfig }
  | { typeName: typeof DECOMPRESSOR_TYPE; config: DecompressorConfig }
  | { typeName: typeof TYPESCRIPT_FILTER_PER_ROUTE_TYPE; config: TypeScriptFilterPerRouteConfig };

export const FAULT_TYPE = EXTENSION_TYPES.fault;
export const RBAC_TYPE = EXTENSION_TYPES.rbac;
export const JWT_AUTHN_TYPE = EXTENSION_TYPES.jwtAuthn;
/** The metadata namespace jwt_authn writes verified payloads to (what RBAC metadata rules read). */
export const JWT_AUTHN_METADATA = 'envoy.filters.http.jwt_authn';
export const LOCAL_RATELIMIT_TYPE = EXTENSION_TYPES.localRateLimit;
export const COMPRESSOR_TYPE = EXTENSION_TYPES.compressor;
export const COMPRESSOR_PER_ROUTE_TYPE = EXTENSION_TYPES.compressorPerRoute;
export const CORS_TYPE = EXTENSION_TYPES.cors;
export const CORS_POLICY_TYPE = EXTENSION_TYPES.corsPolicy;
export const CACHE_TYPE = EXTENSION_TYPES.cache;
export const TYPESCRIPT_FILTER_TYPE = EXTENSION_TYPES.typescriptFilter;
export const TYPESCRIPT_FILTER_PER_ROUTE_TYPE = EXTENSION_TYPES.typescriptFilterPerRoute;
export const DECOMPRESSOR_TYPE = EXTENSION_TYPES.decompressor;

/** One filter of a connection manager's chain before the router (which is implied last). */
export type HttpFilterConfig = HttpFilterTypedConfig & { name: string };

/** Per-route (or virtual host) filter configs by filter name. */
export type PerFilterConfigs = Readonly<Record<string, HttpFilterTypedConfig>>;

export interface VirtualHost {
  name: string;
  /** `rate_limits` for the routes that set none of their own. */
  rateLimits?: RateLimitSpec[];
  /** Lower-case domains: exact ('orders:8080'), suffix wildcard ('*.shop'), prefix wildcard ('orders.*') or '*'. */
  domains: string[];
  routes: Route[];
  requestHeaders: HeaderOps;
  responseHeaders: HeaderOps;
  /** `typed_per_filter_config` for the routes that set none of their own. */
  perFilterConfig?: PerFilterConfigs;
}

export interface RouteConfig {
  name: string;
  virtualHosts: VirtualHost[];
  requestHeaders: HeaderOps;
  responseHeaders: HeaderOps;
  /** Internal-only headers stripped from responses to clients (concealment). */
  internalOnlyHeaders: string[];
  /** Version of the xDS resource this came from (inline route configurations: their listener's). */
  version?: string;
}

export type Direction = 'inbound' | 'outbound';

/** Envoy's HCM `path_with_escaped_slashes_action`: what %2F and %5C (an escaped `/` or backslash) in a path lead to. */
export type EscapedSlashesAction =
  | 'keep-unchanged'
  | 'reject-request'
  | 'unescape-and-redirect'
  | 'unescape-and-forward';

/** How request paths are prepared before route matching; the prepared path is also what goes upstream. */
export interface PathNormalization {
  /** `normalize_path`: RFC 3986 normalization (unreserved percent-encodings decoded, dot segments removed). */
  normalizePath: boolean;
  /** `merge_slashes`: `//` runs become one `/`. */
  mergeSlashes: boolean;
  escapedSlashes: EscapedSlashesAction;
}

/** Connection and stream limits of an HTTP connection manager (Envoy field names; decode-http-limits.ts defaults). */
export interface HttpLimits {
  /** `request_headers_timeout`: the whole request head must arrive within this (ms from its first byte; 0 = off). */
  requestHeadersTimeoutMs: number;
  /** `common_http_protocol_options.idle_timeout`: a connection with no request in flight closes after this (0 = off). */
  idleTimeoutMs: number;
  /** `common_http_protocol_options.max_requests_per_connection` (0 = unlimited). */
  maxRequestsPerConnection: number;
  /** `http2_protocol_options.max_concurrent_streams`, advertised in SETTINGS. */
  maxConcurrentStreams: number;
  /** `http2_protocol_options.initial_stream_window_size` (bytes). */
  initialStreamWindowSize: number;
  /** `http2_protocol_options.initial_connection_window_size` (bytes). */
  initialConnectionWindowSize: number;
}

/**
 * `forward_client_cert_details` (Envoy's default SANITIZE: a client's X-Forwarded-Client-Cert never passes) and which
 * of `set_current_client_cert_details` is set (By and Hash are always in the element, as in Envoy).
 */
export interface ForwardClientCert {
  mode: 'sanitize' | 'forward-only' | 'append-forward' | 'sanitize-set' | 'always-forward-only';
  setUri: boolean;
}

export interface HttpConnectionManagerConfig {
  statPrefix: string;
  /** RDS name (routes looked up in the current config at request time), or an inline route config. */
  routeConfigName?: string;
  routeConfig?: RouteConfig;
  /** Codec: 'auto' sniffs HTTP/2 prior knowledge (h2c) vs HTTP/1.1. */
  codec: 'auto' | 'http1' | 'http2';
  /** Append the peer address to X-Forwarded-For (use_remote_address). */
  useRemoteAddress: boolean;
  xffNumTrustedHops: number;
  /** Generate X-Request-Id when missing (generate_request_id). */
  generateRequestId: boolean;
  /** X-Forwarded-Client-Cert handling (forward_client_cert_details). */
  forwardClientCert: ForwardClientCert;
  /** `server_name`: the Server header value (the sidecar's own default when unset: 'trellis'). */
  serverName: string;
  /**
   * `server_header_transformation`: 'overwrite' (Envoy's default) replaces the Server header of every response with
   * serverName, 'append-if-absent' adds it when the response has none, 'pass-through' leaves it alone.
   */
  serverHeaderTransformation: 'overwrite' | 'append-if-absent' | 'pass-through';
  requestTimeoutMs: number;
  streamIdleTimeoutMs: number;
  maxRequestHeadersKb: number;
  /**
   * `common_http_protocol_options.max_headers_count` (Envoy's default 100): a request with more header fields gets
   * 431 over HTTP/1.1 and a stream reset over HTTP/2.
   */
  maxHeadersCount: number;
  /** `normalize_path`, `merge_slashes`, `path_with_escaped_slashes_action` (all off by default, as in Envoy). */
  pathNormalization: PathNormalization;
  /** Connection and stream limits. */
  limits: HttpLimits;
  /** upgrade_configs enabled at the connection manager level ('websocket', 'CONNECT'). */
  upgrades: string[];
  /** HCM `tracing` (absent: the sidecar's own tracing defaults apply). */
  tracing?: TracingConfig;
  /** HCM `access_log`: one line per request to each. */
  accessLogs: AccessLogConfig[];
  /** HCM `http_filters` before the router, in order (empty: the router alone). */
  httpFilters: HttpFilterConfig[];
}

/** What the control plane says about tracing on one connection manager (HCM `tracing`). */
export interface TracingConfig {
  /** `random_sampling` in percent (0-100) for requests that arrive without a sampling decision; absent: the sidecar's own ratio. */
  randomSamplingPercent?: number;
  /** `provider` OpenTelemetryConfig `service_name`, when set. */
  serviceName?: string;
  /** `spawn_upstream_span` (Envoy's default for a sidecar: client spans per attempt). */
  spawnUpstreamSpan: boolean;
}

/** One access log sink (Envoy FileAccessLog / StdoutAccessLog) with its format and sampling. */
export interface AccessLogConfig {
  /** A file path; '/dev/stdout' or '/dev/stderr' for the stream loggers. */
  path: string;
  /** `log_format.json_format`: output key → Envoy command operator string ('%START_TIME%', '%RESPONSE_CODE%', …). */
  jsonFormat?: Record<string, string>;
  /** `log_format.text_format_source.inline_string` (or the legacy `format`), one line per request. */
  textFormat?: string;
  /** `filter.runtime_filter.percent_sampled` as a percent 0-100 (100 when there is no filter). */
  sampledPercent: number;
  /** `filter.status_code_filter` comparisons (status >= value etc.), absent: every request. */
  statusFilter?: { op: 'EQ' | 'GE' | 'LE'; value: number };
}

export interface TcpProxyConfig {
  statPrefix: string;
  clusters: WeightedCluster[];
  totalWeight: number;
  idleTimeoutMs: number;
  /** TcpProxy `access_log`: one line per connection to each. */
  accessLogs: AccessLogConfig[];
}

export type NetworkFilter = { type: 'http'; http: HttpConnectionManagerConfig } | { type: 'tcp'; tcp: TcpProxyConfig };

/** A URI SAN matcher (SPIFFE ids): exact or prefix. */
export type SanMatcher = { exact: string } | { prefix: string };

/** Where a TLS context's roots come from: inline PEM, or the Secret of that name read over ADS (SDS). */
export type TrustSource = { inline: string } | { secret: string };

/** A Secret read over SDS: a trust bundle (the sidecar's own certificate never comes from the control plane). */
export interface SecretConfig {
  name: string;
  /** PEM roots. */
  trustedCa: string;
}

/** What both sides of mesh TLS share: ALPN, the minimum version, the roots to trust, the peer SANs accepted. */
export interface TlsContextConfig {
  alpn: string[];
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** The roots (the mesh trust bundle). */
  trust: TrustSource;
  /** The peer certificate must carry a URI SAN matching one of these (none: any certificate from the roots). */
  sans: SanMatcher[];
}

/** An UpstreamTlsContext: the sidecar's workload certificate as client certificate. */
export interface UpstreamTlsConfig extends TlsContextConfig {
  sni?: string;
}

/** A DownstreamTlsContext: the sidecar's workload certificate as server certificate. */
export interface DownstreamTlsConfig extends TlsContextConfig {
  requireClientCertificate: boolean;
}

/** One of a cluster's transport_socket_matches: endpoints whose metadata has every `match` entry get `tls`. */
export interface TransportSocketMatch {
  match: Record<string, string>;
  /** Absent: plaintext. */
  tls?: UpstreamTlsConfig;
}

/** A listener's TLS: strict (TLS only) or permissive (TLS and plaintext told apart by the first byte). */
export interface ListenerTls {
  mode: 'strict' | 'permissive';
  context: DownstreamTlsConfig;
}

/** A certificate an edge listener serves, from files (re-read when they change), for the SNI names it lists. */
export interface ServingCertificate {
  /** Lower-case SNI names: exact, or `*.example.com` (any name under it); empty: the default certificate. */
  serverNames: string[];
  certFile: string;
  keyFile: string;
}

/** Edge TLS termination (a gateway's listener): certificates by SNI, no client certificate, modern TLS only. */
export interface ServingTls {
  certificates: ServingCertificate[];
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  maxVersion: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are all AEAD). */
  ciphers: string;
  alpn: string[];
}

export interface ListenerConfig {
  name: string;
  address: string;
  port: number;
  direction: Direction;
  /** The first (and for now only) filter chain's terminal filter. */
  filter: NetworkFilter;
  /** Envoy connection_limit network filter's max_connections (absent: the sidecar's --max-connections). */
  maxConnections?: number;
  /**
   * Envoy's network local_ratelimit filter: new connections beyond its token bucket are closed at once (stats
   * `local_ratelimit.<statPrefix>.rate_limited`).
   */
  connectionRateLimit?: { statPrefix: string; tokenBucket: TokenBucketSpec };
  /** Network RBAC filters before the terminal one, in order: a connection denied by one is closed at once. */
  rbac?: NetworkRbacConfig[];
  /**
   * Listener `per_connection_buffer_limit_bytes`: how much of a request body the HTTP connection manager reads before
   * routing and keeps for retries (absent: 1 MiB, Envoy's default).
   */
  bufferLimitBytes?: number;
  /** Mesh mTLS the listener terminates (absent: plaintext, or `serving`). */
  tls?: ListenerTls;
  /** Edge TLS the listener terminates with certificates from files, chosen by SNI. */
  serving?: ServingTls;
  /** Version of the xDS resource this came from. */
  version: string;
}

export type LbPolicyName =
  | 'ROUND_ROBIN'
  | 'LEAST_REQUEST'
  | 'RANDOM'
  | 'RING_HASH'
  | 'MAGLEV'
  | 'LEAST_CONNECTIONS'
  | 'LEAST_RESPONSE_TIME';

export interface CircuitBreakers {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
  /**
   * retry_budget (replaces maxRetries when present): retries may be active while fewer than
   * max(minRetryConcurrency, budgetPercent% of active requests). Envoy's defaults: 20%, 3.
   */
  retryBudget?: { budgetPercent: number; minRetryConcurrency: number };
}

/** Percentages (0-100): the chance a detected outlier is actually ejected, per detector (Envoy enforcing_*). */
export interface OutlierEnforcing {
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  consecutiveLocalOriginFailure: number;
  successRate: number;
  localOriginSuccessRate: number;
  failurePercentage: number;
  failurePercentageLocalOrigin: number;
}

/**
 * Envoy's OutlierDetection. A consecutive-error threshold (or the successRate / failurePercentage settings) is present
 * only when its detector can eject (enforcing above 0); the fields after `failurePercentage` are always set by the
 * decoder and optional only so hand-built configs stay short (the outlier detector applies Envoy's defaults).
 */
export interface OutlierDetectionConfig {
  consecutive5xx?: number;
  consecutiveGatewayFailure?: number;
  /** Only with splitExternalLocalOriginErrors. */
  consecutiveLocalOriginFailure?: number;
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionPercent: number;
  /** `stdevFactor` is already divided by 1000 (Envoy's 1900 → 1.9). */
  successRate?: { minimumHosts: number; requestVolume: number; stdevFactor: number };
  failurePercentage?: { threshold: number; minimumHosts: number; requestVolume: number };
  /** Cap on base × ejection count; Envoy: 300 s or base_ejection_time, whichever is larger. */
  maxEjectionTimeMs?: number;
  /** Up to this much random time is added to each ejection. */
  maxEjectionTimeJitterMs?: number;
  /** Local-origin errors (connect failure, timeout, reset) counted apart from upstream 5xx. */
  splitExternalLocalOriginErrors?: boolean;
  /** Eject one host even when max_ejection_percent would forbid it. */
  alwaysEjectOneHost?: boolean;
  /** A passing active health check un-ejects the host (Envoy default true). */
  successfulActiveHealthCheckUnejectHost?: boolean;
  enforcing?: OutlierEnforcing;
}

/** A half-open status range [start, end). */
export interface StatusRange {
  start: number;
  end: number;
}

/** An HTTP health check: `method path` to the host, healthy when the status is in `expectedStatuses`. */
export interface HttpHealthProbe {
  kind: 'http';
  path: string;
  /** Host header; the cluster name when absent (Envoy). */
  host?: string;
  method: string;
  codec: 'http1' | 'http2';
  /** Healthy statuses; Envoy's default is 200 only ([{ start: 200, end: 201 }]). */
  expectedStatuses: StatusRange[];
  /** Statuses that count towards unhealthyThreshold instead of failing the host at once. */
  retriableStatuses: StatusRange[];
  /** Payload blocks the start of the body must contain, in order (fuzzy match). */
  receive: Uint8Array[];
  /** Bytes of the body the receive blocks are matched against (0 = the whole body). */
  responseBufferSize: number;
  requestHeaders: { name: string; value: string }[];
  requestHeadersToRemove: string[];
}

/** A TCP health check: connect; optionally send bytes and expect blocks back (in order, not necessarily adjacent). */
export interface TcpHealthProbe {
  kind: 'tcp';
  send?: Uint8Array;
  receive: Uint8Array[];
}

/** grpc.health.v1.Health/Check over HTTP/2 (h2c); healthy when the answer is SERVING. */
export interface GrpcHealthProbe {
  kind: 'grpc';
  serviceName: string;
  /** :authority; the cluster name when absent (Envoy). */
  authority?: string;
  initialMetadata: { name: string; value: string }[];
}

export type HealthProbe = HttpHealthProbe | TcpHealthProbe | GrpcHealthProbe;

/** One active health check of a cluster (Envoy core.v3.HealthCheck). */
export interface HealthCheckConfig {
  probe: HealthProbe;
  timeoutMs: number;
  intervalMs: number;
  /** Random 0..initialJitterMs before a host's first check. */
  initialJitterMs: number;
  /** Random 0..intervalJitterMs added to each wait. */
  intervalJitterMs: number;
  /** Random 0..interval×percent/100 added to each wait. */
  intervalJitterPercent: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** Interval while the cluster has had no traffic (Envoy default 60 s, used only when traffic is tracked). */
  noTrafficIntervalMs?: number;
  noTrafficHealthyIntervalMs?: number;
  /** Interval for hosts failing checks (default intervalMs). */
  unhealthyIntervalMs?: number;
  /** After a failure while the host is still healthy (default unhealthyIntervalMs). */
  unhealthyEdgeIntervalMs?: number;
  /** After a success while the host is still unhealthy (default intervalMs). */
  healthyEdgeIntervalMs?: number;
  /** Keep the connection between checks (Envoy reuse_connection, default true). */
  reuseConnection: boolean;
}

export interface ClusterConfig {
  name: string;
  /** 'eds' = endpoints from ClusterLoadAssignment `edsServiceName`; 'static' = inline `staticEndpoints`. */
  discovery: 'eds' | 'static';
  edsServiceName: string;
  staticEndpoints: LocalityEndpoints[];
  lbPolicy: LbPolicyName;
  /** Raw per-policy config (ring size, choice count, …) for the balancer registry. */
  lbConfig: Record<string, unknown>;
  connectTimeoutMs: number;
  protocol: 'http1' | 'http2';
  /** TLS to endpoints, by their transport-socket-match metadata (empty: plaintext to all). */
  transportSockets?: TransportSocketMatch[];
  /** HttpProtocolOptions common idle_timeout of pooled upstream connections (0 = never; absent: the pools' 4 s). */
  idleTimeoutMs?: number;
  circuitBreakers: CircuitBreakers;
  outlierDetection?: OutlierDetectionConfig;
  /** Active health checks (Envoy health_checks: at most one); absent when none. */
  healthChecks?: HealthCheckConfig[];
  /**
   * common_lb_config.healthy_panic_threshold in percent: below this share of healthy hosts a priority balances across
   * all its hosts. Absent = Envoy's default 50; 0 disables panic mode.
   */
  healthyPanicThresholdPercent?: number;
  /** filter_metadata.trellis (service, port, subset, protocol, lb_algorithm). */
  metadata: Record<string, unknown>;
  version: string;
}

export interface EndpointConfig {
  address: string;
  port: number;
  weight: number;
  health: 'healthy' | 'unhealthy' | 'draining' | 'unknown';
  /** lb_endpoint metadata `envoy.transport_socket_match` (which of the cluster's transport sockets applies). */
  transportMatch?: Record<string, string>;
}

export interface LocalityEndpoints {
  zone: string;
  region: string;
  priority: number;
  weight: number;
  endpoints: EndpointConfig[];
}

export interface ClusterLoadAssignmentConfig {
  clusterName: string;
  localities: LocalityEndpoints[];
  version: string;
}

/** One immutable view of everything the sidecar serves; replaced wholesale when any resource changes. */
export interface SidecarConfig {
  listeners: ReadonlyMap<string, ListenerConfig>;
  routes: ReadonlyMap<string, RouteConfig>;
  clusters: ReadonlyMap<string, ClusterConfig>;
  endpoints: ReadonlyMap<string, ClusterLoadAssignmentConfig>;
  /** Secrets read over SDS (trust bundles), by name. */
  secrets: ReadonlyMap<string, SecretConfig>;
}

export const EMPTY_CONFIG: SidecarConfig = {
  listeners: new Map(),
  routes: new Map(),
  clusters: new Map(),
  endpoints: new Map(),
  secrets: new Map(),
};
