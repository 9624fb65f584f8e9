// The operator resources (Kubernetes-style documents): Service, Route and TrafficPolicy, as stored and validated.

export const API_VERSION = 'trellis.dev/v1';
export const KINDS = ['Service', 'Route', 'TrafficPolicy'] as const;
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

export interface ServiceSpec {
  ports: ServicePort[];
  endpoints?: StaticEndpoint[];
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

export interface RetryPolicy {
  attempts: number;
  perTryTimeout?: string;
  retryOn?: string[];
}

export interface HeaderOps {
  add?: Record<string, string>;
  set?: Record<string, string>;
  remove?: string[];
}

export interface HttpRule {
  name?: string;
  match?: HttpMatch[];
  rewrite?: { pathPrefix?: string; regex?: { pattern: string; substitution: string }; host?: string };
  route: RouteDestination[];
  timeout?: string;
  retries?: RetryPolicy;
  headers?: { request?: HeaderOps; response?: HeaderOps };
}

export interface RouteSpec {
  hosts: string[];
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

export interface ConsistentHash {
  header?: string;
  cookie?: { name: string; ttl?: string; path?: string };
  sourceIp?: boolean;
  queryParam?: string;
}

export interface OutlierDetection {
  consecutive5xx?: number;
  consecutiveGatewayErrors?: number;
  interval?: string;
  baseEjectionTime?: string;
  maxEjectionPercent?: number;
}

export interface ConnectionPool {
  connectTimeout?: string;
  maxConnections?: number;
  maxPendingRequests?: number;
  maxRequests?: number;
  maxRetries?: number;
}

export interface Subset {
  name: string;
  labels: Record<string, string>;
}

export interface TrafficPolicySpec {
  service: string;
  subsets?: Subset[];
  loadBalancer?: { algorithm: LbAlgorithm; consistentHash?: ConsistentHash };
  outlierDetection?: OutlierDetection;
  connectionPool?: ConnectionPool;
}

export interface SpecOf {
  Service: ServiceSpec;
  Route: RouteSpec;
  TrafficPolicy: TrafficPolicySpec;
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
export type Resource = ServiceResource | RouteResource | TrafficPolicyResource;

/** Identity of a stored resource. */
export interface ResourceKey {
  kind: Kind;
  name: string;
}

export function keyOf(r: ResourceKey): string {
  return `${r.kind}/${r.name}`;
}
