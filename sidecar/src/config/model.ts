// The sidecar's validated, immutable config model: what xDS resources decode into, and what the data path reads.

/**
 * A string matcher (Envoy StringMatcher subset). `regex` is compiled once at decode time from RE2 syntax; it is
 * unanchored and has no g/y flags (Envoy's safe_regex is a full match: anchor it when building the matcher).
 */
export type StringMatcher =
  | { kind: 'exact'; value: string; ignoreCase: boolean }
  | { kind: 'prefix'; value: string; ignoreCase: boolean }
  | { kind: 'suffix'; value: string; ignoreCase: boolean }
  | { kind: 'contains'; value: string; ignoreCase: boolean }
  | { kind: 'regex'; regex: RegExp };

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
    | { kind: 'regex'; regex: RegExp }
    | { kind: 'connect' };
  headers: HeaderMatch[];
  query: QueryMatch[];
}

export interface WeightedCluster {
  name: string;
  weight: number;
}

export interface HeaderValueOption {
  name: string;
  value: string;
  /** 'append' adds another value; 'overwrite' replaces; 'add-if-absent' only when missing. */
  action: 'append' | 'overwrite' | 'add-if-absent';
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
  /** `regex` has the 'g' flag (Envoy replaces every match); `substitution` uses JS replacement syntax ($1, $&). */
  regexRewrite?: { regex: RegExp; substitution: string };
  hostRewrite?: string;
  /** 0 = no route timeout. */
  timeoutMs: number;
  idleTimeoutMs?: number;
  retry?: RetryPolicy;
  hashPolicy: HashPolicy[];
  /** Upgrades allowed on this route, e.g. 'websocket', 'CONNECT'. */
  upgrades: string[];
}

export interface Route {
  name: string;
  match: RouteMatch;
  /** Either forward to clusters, or answer directly. */
  action: { type: 'route'; route: RouteAction } | { type: 'direct'; status: number; body: string };
  requestHeaders: HeaderOps;
  responseHeaders: HeaderOps;
}

export interface VirtualHost {
  name: string;
  /** Lower-case domains: exact ('orders:8080'), suffix wildcard ('*.shop'), prefix wildcard ('orders.*') or '*'. */
  domains: string[];
  routes: Route[];
  requestHeaders: HeaderOps;
  responseHeaders: HeaderOps;
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
  /** Forward client details / set X-Real-IP. */
  setRealIp: boolean;
  serverName?: string;
  /** Envoy 'server_header_transformation'. */
  passThroughServerHeader: boolean;
  requestTimeoutMs: number;
  streamIdleTimeoutMs: number;
  maxRequestHeadersKb: number;
  /** upgrade_configs enabled at the connection manager level ('websocket', 'CONNECT'). */
  upgrades: string[];
}

export interface TcpProxyConfig {
  statPrefix: string;
  clusters: WeightedCluster[];
  totalWeight: number;
  idleTimeoutMs: number;
}

export type NetworkFilter = { type: 'http'; http: HttpConnectionManagerConfig } | { type: 'tcp'; tcp: TcpProxyConfig };

export interface ListenerConfig {
  name: string;
  address: string;
  port: number;
  direction: Direction;
  /** The first (and for now only) filter chain's terminal filter. */
  filter: NetworkFilter;
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
}

export interface OutlierDetectionConfig {
  consecutive5xx?: number;
  consecutiveGatewayFailure?: number;
  consecutiveLocalOriginFailure?: number;
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionPercent: number;
  successRate?: { minimumHosts: number; requestVolume: number; stdevFactor: number };
  failurePercentage?: { threshold: number; minimumHosts: number; requestVolume: number };
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
  circuitBreakers: CircuitBreakers;
  outlierDetection?: OutlierDetectionConfig;
  /** filter_metadata.trellis (service, port, subset, protocol, lb_algorithm). */
  metadata: Record<string, unknown>;
  version: string;
}

export interface EndpointConfig {
  address: string;
  port: number;
  weight: number;
  health: 'healthy' | 'unhealthy' | 'draining' | 'unknown';
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
}

export const EMPTY_CONFIG: SidecarConfig = {
  listeners: new Map(),
  routes: new Map(),
  clusters: new Map(),
  endpoints: new Map(),
};
