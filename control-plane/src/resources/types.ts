// The operator resources (Kubernetes-style documents): Service, Route, TrafficPolicy, Telemetry, PeerAuthentication,
// AuthorizationPolicy, RequestAuthentication and Gateway, as stored and validated.

export const API_VERSION = 'trellis.dev/v1';
export const KINDS = [
  'Service',
  'Route',
  'TrafficPolicy',
  'Telemetry',
  'PeerAuthentication',
  'AuthorizationPolicy',
  'RequestAuthentication',
  'Gateway',
] as const;
export type Kind = (typeof KINDS)[number];

export interface Metadata {
  name: string;
  labels?: Record<string, string>;
  /** Set by the store: increments on every change of the spec. */
  generation?: number;
  /** Set by the store: RFC 3339 times. */
  createdAt?: string;
  updatedAt?: string;
}

export type Protocol = 'HTTP' | 'HTTP2' | 'GRPC' | 'TCP';

export interface ServicePort {
  name: string;
  port: number;
  protocol: Protocol;
}

/** A static endpoint listed in the Service spec (proxies announce the dynamic ones). */
export interface StaticEndpoint {
  address: string;
  port: number;
  labels?: Record<string, string>;
  weight?: number;
  zone?: string;
}

/** Envoy's HCM `server_header_transformation`. */
export type ServerHeaderTransformation = 'OVERWRITE' | 'APPEND_IF_ABSENT' | 'PASS_THROUGH';

/** Envoy's HCM `path_with_escaped_slashes_action` (what %2F and %5C in a request path lead to). */
export type PathWithEscapedSlashesAction =
  | 'KEEP_UNCHANGED'
  | 'REJECT_REQUEST'
  | 'UNESCAPE_AND_REDIRECT'
  | 'UNESCAPE_AND_FORWARD';

/**
 * How the Trellis sidecars fronting a service treat headers and paths (Envoy field names, camelCased): the Server
 * header, concealed headers and escaped slashes on their inbound listener, normalizePath and mergeSlashes on both
 * HTTP listeners, and their connection and stream limits. Absent fields take the safe defaults of
 * translator/sidecar-http-options.ts; absent limits emit nothing, so the sidecar's own defaults apply.
 */
export interface SidecarOptions {
  /** `server_name`: what the Server header says. */
  serverName?: string;
  serverHeaderTransformation?: ServerHeaderTransformation;
  /** `response_headers_to_remove` of the inbound RouteConfiguration: headers of the app's responses never shown. */
  responseHeadersToRemove?: string[];
  normalizePath?: boolean;
  mergeSlashes?: boolean;
  pathWithEscapedSlashesAction?: PathWithEscapedSlashesAction;
  // Connection and stream limits (validate/sidecar-limits.ts, translator/sidecar-limits.ts): both listeners.
  /** HCM `request_headers_timeout`: the whole request head; 0s turns it off. */
  requestHeadersTimeout?: string;
  /** HCM `request_timeout`: the whole request, body included; 0s (the default) turns it off. */
  requestTimeout?: string;
  /** HCM `stream_idle_timeout`; 0s turns it off. */
  streamIdleTimeout?: string;
  /** HCM `common_http_protocol_options.idle_timeout`: a connection with no request open; 0s turns it off. */
  idleTimeout?: string;
  /** HCM `common_http_protocol_options.max_requests_per_connection`; 0 = unlimited. */
  maxRequestsPerConnection?: number;
  /** HCM `max_request_headers_kb`. */
  maxRequestHeadersKb?: number;
  /** HCM `common_http_protocol_options.max_headers_count`. */
  maxHeadersCount?: number;
  http2?: SidecarHttp2Options;
  /** A `connection_limit` network filter's `max_connections` before each listener's terminal filter. */
  maxConnections?: number;
  /**
   * A network `local_ratelimit` filter before each listener's terminal filter: new connections per second (a bucket of
   * as many, refilled every second); more are closed at once.
   */
  maxConnectionsPerSecond?: number;
  /**
   * Listener `per_connection_buffer_limit_bytes`: how much of a request body the sidecar reads before routing it and
   * keeps for retries (1 MiB when unset; 0 streams every body at once).
   */
  perConnectionBufferLimitBytes?: number;
}

/** HCM `http2_protocol_options` of a sidecar's listeners (Envoy field names, camelCased). */
export interface SidecarHttp2Options {
  maxConcurrentStreams?: number;
  initialStreamWindowSize?: number;
  initialConnectionWindowSize?: number;
}

export interface ServiceSpec {
  ports: ServicePort[];
  endpoints?: StaticEndpoint[];
  sidecar?: SidecarOptions;
}

export interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
  present?: boolean;
}

export interface HttpMatch {
  pathPrefix?: string;
  pathExact?: string;
  pathRegex?: string;
  headers?: Record<string, StringMatch>;
  queryParams?: Record<string, StringMatch>;
  cookies?: Record<string, StringMatch>;
  methods?: string[];
}

export interface RouteDestination {
  service: string;
  /** A port of the service (validated against its ports). */
  port?: number;
  /** A subset defined by the service's TrafficPolicy. */
  subset?: string;
  /** Integer >= 0. Validation requires every destination of a rule to have one or none (= equal split); a sum > 0. */
  weight?: number;
}

/** Exponential back-off between retries: Envoy's retry_back_off. */
export interface RetryBackoff {
  baseInterval: string;
  /** At least baseInterval; the client default is 10 × baseInterval. */
  maxInterval?: string;
}

export interface RetryPolicy {
  attempts: number;
  perTryTimeout?: string;
  retryOn?: string[];
  /** HTTP statuses (100-599) to retry on; implies the retriable-status-codes condition. */
  retriableStatusCodes?: number[];
  backoff?: RetryBackoff;
}

export interface HeaderOps {
  add?: Record<string, string>;
  set?: Record<string, string>;
  remove?: string[];
}

/** Fault injection on a rule (Envoy's fault filter, at the calling side): delay and/or abort a share of requests. */
export interface FaultInjection {
  delay?: { fixedDelay: string /** 0-100, default 100. */; percent?: number };
  /** Exactly one of httpStatus (200-599) and grpcStatus (a gRPC code name such as UNAVAILABLE, or 0-16). */
  abort?: { httpStatus?: number; grpcStatus?: string | number /** 0-100, default 100. */; percent?: number };
}

/** A redirect instead of forwarding (Envoy's RedirectAction): the request's URL with these parts swapped in. */
export interface HttpRedirect {
  scheme?: string;
  host?: string;
  port?: number;
  /** The whole path (a query in it replaces the request's); not with prefix. */
  path?: string;
  /** Replaces the matched path prefix; not with path. */
  prefix?: string;
  /** 301 (default), 302, 303, 307 or 308. */
  code?: number;
  stripQuery?: boolean;
}

export interface HttpRule {
  name?: string;
  match?: HttpMatch[];
  rewrite?: { pathPrefix?: string; regex?: { pattern: string; substitution: string }; host?: string };
  /** Exactly one of route (forward), redirect and directResponse. */
  route?: RouteDestination[];
  redirect?: HttpRedirect;
  directResponse?: { status: number; body?: string };
  /** Copies of a share of the rule's requests to another destination, fire and forget (proxies only). */
  mirror?: RouteDestination & { /** 0-100, default 100. */ percent?: number };
  timeout?: string;
  /** Idle timeout of the request stream (route.idle_timeout); 0s disables it. */
  idleTimeout?: string;
  retries?: RetryPolicy;
  headers?: { request?: HeaderOps; response?: HeaderOps };
  fault?: FaultInjection;
  /** Browsers' cross-origin access to the rule's requests (Envoy's CORS filter at the calling proxy; proxies only). */
  cors?: CorsPolicy;
}

/** A CORS policy (Istio's shape): which origins may call, and what their browsers are told. */
export interface CorsPolicy {
  /** Origins answered (exact, prefix or regex; no `present`). */
  allowOrigins: Omit<StringMatch, 'present'>[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  /** How long browsers may cache a preflight's answer (a duration, whole seconds). */
  maxAge?: string;
  allowCredentials?: boolean;
}

export interface RouteSpec {
  hosts: string[];
  /**
   * Where the Route applies: `mesh` (the sidecars: the default) and/or the names of Gateways, whose listeners then
   * serve its hosts (Istio's VirtualService gateways).
   */
  gateways?: string[];
  http: HttpRule[];
}

export type LbAlgorithm =
  | 'ROUND_ROBIN'
  | 'LEAST_REQUEST'
  | 'RANDOM'
  | 'RING_HASH'
  | 'MAGLEV'
  | 'LEAST_CONNECTIONS'
  | 'LEAST_RESPONSE_TIME';

export interface HashCookie {
  name: string;
  ttl?: string;
  path?: string;
}

export interface ConsistentHash {
  header?: string;
  cookie?: HashCookie;
  sourceIp?: boolean;
  queryParam?: string;
}

/** Cookie-based session affinity: the proxy sets the cookie when the request has none. */
export interface StickySession {
  cookie: HashCookie & {
    /** Only true: proxies always mark the cookie they generate HttpOnly. */
    httpOnly?: boolean;
  };
}

export interface LoadBalancer {
  /** Default: RING_HASH with stickySession, else ROUND_ROBIN. */
  algorithm?: LbAlgorithm;
  /** LEAST_REQUEST: hosts sampled per pick (>= 2). */
  choiceCount?: number;
  /** RING_HASH: ring size bounds. */
  ringSize?: { min?: number; max?: number };
  /** MAGLEV: lookup table size, a prime. */
  tableSize?: number;
  /** RING_HASH / MAGLEV: what to hash. */
  consistentHash?: ConsistentHash;
  stickySession?: StickySession;
  localityLb?: { preferLocalZone: boolean };
  /** Percent of healthy hosts under which the balancer ignores health (Envoy's panic threshold). */
  panicThreshold?: number;
}

/** Active health checking of a service's endpoints: exactly one of http, tcp, grpc. */
export interface HealthCheck {
  http?: {
    path: string;
    /** Status codes (204) or inclusive ranges ("200-299"); default 200. */
    expectedStatuses?: (number | string)[];
    /** Host header; default the service name. */
    host?: string;
  };
  tcp?: Record<string, never>;
  grpc?: { serviceName?: string };
  interval?: string;
  timeout?: string;
  healthyThreshold?: number;
  unhealthyThreshold?: number;
  jitter?: string;
}

export interface OutlierDetection {
  consecutive5xx?: number;
  consecutiveGatewayErrors?: number;
  /** Only counted with splitExternalLocalOriginErrors. */
  consecutiveLocalOriginFailures?: number;
  splitExternalLocalOriginErrors?: boolean;
  interval?: string;
  baseEjectionTime?: string;
  maxEjectionTime?: string;
  maxEjectionPercent?: number;
  successRate?: { minimumHosts?: number; requestVolume?: number; stdevFactor?: number };
  failurePercentage?: { threshold?: number; minimumHosts?: number; requestVolume?: number };
}

export interface ConnectionPool {
  connectTimeout?: string;
  maxConnections?: number;
  maxPendingRequests?: number;
  maxRequests?: number;
  maxRetries?: number;
  /** Active retries allowed as a percentage of active requests (replaces maxRetries). */
  retryBudget?: { percent?: number; minRetryConcurrency?: number };
  /** Idle timeout of upstream HTTP connections; 0s disables it. */
  idleTimeout?: string;
}

export interface Subset {
  name: string;
  labels: Record<string, string>;
}

/**
 * Requests the service's sidecars accept (Envoy's local rate limit, on each inbound sidecar): a token bucket of
 * `burst` tokens (default requestsPerUnit) that gains requestsPerUnit every unit.
 */
export interface RateLimit {
  /** The service-wide bucket (with unit); optional when perClient is set. */
  requestsPerUnit?: number;
  unit?: 'second' | 'minute' | 'hour';
  burst?: number;
  /** false: count what would be refused, refuse nothing (a dry run); default true. */
  enforce?: boolean;
  /** A bucket per client (its address, or the value of a header such as an API key), at most 10,000 per sidecar. */
  perClient?: PerClientRateLimit;
}

export interface PerClientRateLimit {
  requestsPerUnit: number;
  unit: 'second' | 'minute' | 'hour';
  burst?: number;
  /** What tells clients apart: absent = the client address; `{ header }` = that request header's value. */
  by?: { header: string };
}

/**
 * Responses the service's sidecars compress (Envoy's compressor filter, on each inbound sidecar) for callers that
 * accept the coding.
 */
export interface Compression {
  /** Codings offered, the first preferred on ties of the client's q-values; default br, gzip, zstd. */
  encodings?: ('br' | 'gzip' | 'zstd')[];
  /** Responses with a smaller Content-Length are sent as they are; default 30 (Envoy's). */
  minBytes?: number;
  /** Media types compressed; default Envoy's list (text, scripts, JSON, XML, SVG). */
  contentTypes?: string[];
}

/**
 * A shared HTTP cache of the service's responses (Envoy's cache filter, on each inbound sidecar): what the service
 * marks cacheable (Cache-Control, Expires) is answered by its sidecar without reaching it.
 */
export interface ResponseCache {
  /** Larger bodies are not stored; default 1 MiB. */
  maxBodyBytes?: number;
  /** Request headers responses may vary on besides Accept-Encoding (a response varying on others is not stored). */
  varyHeaders?: string[];
}

/** A filter written in TypeScript that the service's sidecars run on its inbound requests (before cache and compression). */
export interface TypeScriptFilterSpec {
  /** DNS-1123 label; unique in the policy; names its stats. */
  name: string;
  /** The module: `export default { onRequest?, onResponse? }` (types from @trellis/filter-api). */
  source: string;
  /** JSON handed to the filter as `context.config`. */
  config?: Record<string, unknown>;
  /** The budget of one hook call; default 50ms, at most 1s. */
  timeout?: string;
  /**
   * Exceptions by request on the service's inbound side, tried in order: the first whose match a request meets turns
   * the filter off for it (`disabled: true`) or hands it `config` as `context.routeConfig`.
   */
  overrides?: TypeScriptFilterOverride[];
}

export interface TypeScriptFilterOverride {
  match: HttpMatch;
  disabled?: boolean;
  config?: Record<string, unknown>;
}

export interface TrafficPolicySpec {
  service: string;
  subsets?: Subset[];
  loadBalancer?: LoadBalancer;
  healthCheck?: HealthCheck;
  outlierDetection?: OutlierDetection;
  connectionPool?: ConnectionPool;
  rateLimit?: RateLimit;
  compression?: Compression;
  responseCache?: ResponseCache;
  filters?: TypeScriptFilterSpec[];
}

/** Which proxies a Telemetry applies to: those fronting `service`; absent = every sidecar in the mesh. */
export interface TelemetrySelector {
  service: string;
}

export interface TelemetryTracing {
  /** Percent (0-100, decimals allowed) of requests that start a new trace. */
  samplingPercent: number;
}

export interface TelemetryAccessLog {
  /** `/dev/stdout`, `/dev/stderr` or an absolute file path. */
  path: string;
  /** JSON log line fields: key → Envoy command operators (e.g. `%RESPONSE_CODE%`); absent = the proxy's default. */
  format?: Record<string, string>;
  /** Percent (0-100, decimals allowed) of requests logged; default 100. */
  samplingPercent?: number;
}

export interface TelemetrySpec {
  selector?: TelemetrySelector;
  tracing?: TelemetryTracing;
  accessLog?: TelemetryAccessLog;
}

/** How a service's sidecars take inbound connections: mTLS only, mTLS and plaintext, or plaintext only. */
export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

/** Istio's PeerAuthentication: the mTLS mode of one service's sidecars (selector) or of the whole mesh (none). */
export interface PeerAuthenticationSpec {
  selector?: { service: string };
  mtls: { mode: MtlsMode };
}

/**
 * Who calls, in an AuthorizationPolicy rule (Istio's Source): every field given must match (values of one field: any).
 * Principals are SPIFFE ids (`cluster.local/ns/default/sa/web`, with or without `spiffe://`; `*` wildcards at either
 * end); namespaces are the caller identity's namespace; IP blocks are addresses or CIDRs of the connection's peer
 * (`ipBlocks`) or of the trusted client address (`remoteIpBlocks`).
 */
export interface AuthorizationSource {
  principals?: string[];
  notPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
  /** `<iss>/<sub>` of the request's verified JWT (RequestAuthentication), `<iss>/*`, `*\/<sub>` or `*`. */
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
}

/** What is asked for (Istio's Operation): hosts, service ports, methods, paths (`*` wildcards at either end). */
export interface AuthorizationOperation {
  hosts?: string[];
  notHosts?: string[];
  ports?: number[];
  notPorts?: number[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}

/** An extra condition (Istio's Condition): `key` such as `request.headers[x-user]` or `source.ip`. */
export interface AuthorizationCondition {
  key: string;
  values?: string[];
  notValues?: string[];
}

/** A rule matches when one of `from`, one of `to` and every `when` match (an absent part matches anything). */
export interface AuthorizationRule {
  from?: { source: AuthorizationSource }[];
  to?: { operation: AuthorizationOperation }[];
  when?: AuthorizationCondition[];
}

export type AuthorizationAction = 'ALLOW' | 'DENY' | 'AUDIT';

/**
 * Istio's AuthorizationPolicy for one service's inbound (selector) or every service's (none): DENY policies refuse
 * what their rules match; once any ALLOW policy applies to a service, only what some ALLOW rule matches gets in;
 * AUDIT only counts. `dryRun` evaluates without enforcing (stats only).
 */
export interface AuthorizationPolicySpec {
  selector?: { service: string };
  /** Default ALLOW. */
  action?: AuthorizationAction;
  /** No rules: an ALLOW policy allows nothing (deny all); a DENY or AUDIT one matches nothing. */
  rules?: AuthorizationRule[];
  dryRun?: boolean;
}

/** One JWT issuer a service accepts tokens of (Istio's JWTRule). */
export interface JwtRule {
  issuer: string;
  /** Accepted `aud` values (none: any). */
  audiences?: string[];
  /** The keys: an inline JWKS (JSON), an HTTPS URL the control plane fetches and refreshes, or a file on each sidecar. */
  jwks?: string;
  jwksUri?: string;
  jwksFile?: string;
  /** Where the token is (default: `Authorization: Bearer …` and the `access_token` query parameter). */
  fromHeaders?: { name: string; prefix?: string }[];
  fromParams?: string[];
  fromCookies?: string[];
  /** Keep the token in the request to the app (default: removed). */
  forwardOriginalToken?: boolean;
  /** Claims copied into request headers. */
  outputClaimToHeaders?: { header: string; claim: string }[];
  /** A header carrying the verified payload (base64url JSON). */
  outputPayloadToHeader?: string;
}

/**
 * Istio's RequestAuthentication: the JWT issuers one service (selector) or every service accepts. A request with an
 * invalid token gets 401; one without a token passes, with no request principal (an AuthorizationPolicy can require
 * one).
 */
export interface RequestAuthenticationSpec {
  selector?: { service: string };
  jwtRules: JwtRule[];
}

/** A certificate a Gateway server presents, from files on the gateway's machine (re-read when they change). */
export interface GatewayCertificate {
  /** The SNI names it is for (exact or `*.example.com`); absent: the default certificate. */
  hosts?: string[];
  certFile: string;
  keyFile: string;
}

/** One port a Gateway listens on. */
export interface GatewayServer {
  port: number;
  protocol: 'HTTP' | 'HTTPS';
  /** The Route hosts this server serves (`*`: every Route bound to the Gateway). */
  hosts: string[];
  /** HTTPS: the certificates and the lowest TLS version (default TLSv1_2). */
  tls?: { certificates: GatewayCertificate[]; minVersion?: 'TLSv1_2' | 'TLSv1_3' };
  /** HTTP: answer every request with a redirect to https:// (301) instead of routing it. */
  httpsRedirect?: boolean;
  /** HTTPS: Strict-Transport-Security on every response. */
  hsts?: { maxAge: string; includeSubDomains?: boolean; preload?: boolean };
}

/**
 * An edge gateway (Istio's Gateway): the ports a `trellis-sidecar --gateway <name>` listens on for clients outside
 * the mesh, TLS terminated with certificates chosen by SNI, Routes bound with `gateways: [<name>]`.
 */
export interface GatewaySpec {
  servers: GatewayServer[];
  /**
   * The gateway's local rate limit (TrafficPolicy's shape); default: 100 requests a second per client address, bursts
   * of 200, answered 429 past it.
   */
  rateLimit?: RateLimit;
}

export interface SpecOf {
  Service: ServiceSpec;
  Route: RouteSpec;
  TrafficPolicy: TrafficPolicySpec;
  Telemetry: TelemetrySpec;
  PeerAuthentication: PeerAuthenticationSpec;
  AuthorizationPolicy: AuthorizationPolicySpec;
  RequestAuthentication: RequestAuthenticationSpec;
  Gateway: GatewaySpec;
}

export interface ResourceOf<K extends Kind> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: Metadata;
  spec: SpecOf[K];
}

export type ServiceResource = ResourceOf<'Service'>;
export type RouteResource = ResourceOf<'Route'>;
export type TrafficPolicyResource = ResourceOf<'TrafficPolicy'>;
export type TelemetryResource = ResourceOf<'Telemetry'>;
export type PeerAuthenticationResource = ResourceOf<'PeerAuthentication'>;
export type AuthorizationPolicyResource = ResourceOf<'AuthorizationPolicy'>;
export type RequestAuthenticationResource = ResourceOf<'RequestAuthentication'>;
export type GatewayResource = ResourceOf<'Gateway'>;
export type Resource =
  | ServiceResource
  | RouteResource
  | TrafficPolicyResource
  | TelemetryResource
  | PeerAuthenticationResource
  | AuthorizationPolicyResource
  | RequestAuthenticationResource
  | GatewayResource;

/** Identity of a stored resource. */
export interface ResourceKey {
  kind: Kind;
  name: string;
}

export function keyOf(r: ResourceKey): string {
  return `${r.kind}/${r.name}`;
}
