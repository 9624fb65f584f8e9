// Clusters: one EDS cluster per service port and per subset, with LB policy, outlier detection and circuit breakers.
import { duration, lookupType } from '@trellis/xds-protos';
import { parseDuration } from '../resources/duration.ts';
import type { ConnectionPool, LbAlgorithm, OutlierDetection, Protocol, TrafficPolicySpec } from '../resources/types.ts';
import type { ClientKind } from '../xds/node.ts';
import type { ClusterKey, MeshIndex } from './mesh-index.ts';
import { adsConfigSource, compact, durationOf, struct, u32 } from './proto-values.ts';

/** Envoy's Cluster.LbPolicy values Trellis emits. */
export type EnvoyLbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** Ring size floor for RING_HASH: Envoy's and gRPC's default; gRPC NACKs anything above 8M. */
export const MIN_RING_SIZE = 1024;
export const MAX_RING_SIZE = 8_388_608;

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** Whether @trellis/xds-protos can encode HttpProtocolOptions (its proto file must be in that package's list). */
export const HTTP_PROTOCOL_OPTIONS_ENCODABLE: boolean = (() => {
  try {
    lookupType(HTTP_PROTOCOL_OPTIONS);
    return true;
  } catch {
    return false;
  }
})();

/**
 * The lb_policy a client gets for an operator algorithm. gRPC proxyless clients accept only ROUND_ROBIN and
 * RING_HASH. LEAST_CONNECTIONS / LEAST_RESPONSE_TIME are Trellis-sidecar policies: they travel as LEAST_REQUEST
 * plus `sidecarAlgorithm` (written to the cluster's trellis metadata as lb_algorithm).
 */
export function lbPolicyFor(
  client: ClientKind,
  algorithm: LbAlgorithm | undefined,
): { policy: EnvoyLbPolicy; sidecarAlgorithm?: LbAlgorithm } {
  const algo = algorithm ?? 'ROUND_ROBIN';
  if (client === 'proxyless') return { policy: algo === 'RING_HASH' ? 'RING_HASH' : 'ROUND_ROBIN' };
  switch (algo) {
    case 'LEAST_CONNECTIONS':
    case 'LEAST_RESPONSE_TIME':
      return client === 'sidecar' ? { policy: 'LEAST_REQUEST', sidecarAlgorithm: algo } : { policy: 'LEAST_REQUEST' };
    default:
      return { policy: algo };
  }
}

function outlierDetection(od: OutlierDetection | undefined): Record<string, unknown> | undefined {
  if (!od) return undefined;
  const has5xx = od.consecutive5xx !== undefined;
  const hasGateway = od.consecutiveGatewayErrors !== undefined;
  // Only the consecutive-error detectors the operator asked for enforce; success-rate ejection (on by default in
  // both Envoy and gRPC) stays off so the policy means what it says.
  return compact({
    consecutive_5xx: has5xx ? u32(od.consecutive5xx as number) : undefined,
    enforcing_consecutive_5xx: u32(has5xx ? 100 : 0),
    consecutive_gateway_failure: hasGateway ? u32(od.consecutiveGatewayErrors as number) : undefined,
    enforcing_consecutive_gateway_failure: u32(hasGateway ? 100 : 0),
    enforcing_success_rate: u32(0),
    interval: durationOf(od.interval),
    base_ejection_time: durationOf(od.baseEjectionTime),
    max_ejection_percent:
      od.maxEjectionPercent === undefined ? undefined : u32(Math.min(100, Math.max(0, od.maxEjectionPercent))),
  });
}

function circuitBreakers(pool: ConnectionPool | undefined): Record<string, unknown> | undefined {
  if (!pool) return undefined;
  const threshold = compact({
    max_connections: pool.maxConnections === undefined ? undefined : u32(pool.maxConnections),
    max_pending_requests: pool.maxPendingRequests === undefined ? undefined : u32(pool.maxPendingRequests),
    max_requests: pool.maxRequests === undefined ? undefined : u32(pool.maxRequests),
    max_retries: pool.maxRetries === undefined ? undefined : u32(pool.maxRetries),
  });
  if (Object.keys(threshold).length === 0) return undefined;
  return { thresholds: [{ priority: 'DEFAULT', ...threshold }] };
}

function connectTimeoutMs(pool: ConnectionPool | undefined): number {
  const ms = pool?.connectTimeout === undefined ? undefined : parseDuration(pool.connectTimeout);
  return ms !== undefined && ms > 0 ? ms : DEFAULT_CONNECT_TIMEOUT_MS;
}

function http2Options(client: ClientKind, key: ClusterKey): Record<string, unknown> | undefined {
  if (client === 'proxyless') return undefined;
  return upstreamProtocolOptions(key.port.protocol);
}

/** typed_extension_protocol_options that make a proxy speak HTTP/2 upstream for HTTP2/GRPC ports (else undefined). */
export function upstreamProtocolOptions(protocol: Protocol): Record<string, unknown> | undefined {
  if (!HTTP_PROTOCOL_OPTIONS_ENCODABLE) return undefined;
  if (protocol !== 'HTTP2' && protocol !== 'GRPC') return undefined;
  return {
    [HTTP_PROTOCOL_OPTIONS]: {
      '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`,
      explicit_http_config: { http2_protocol_options: {} },
    },
  };
}

/** The Cluster for one cluster key, tailored to the client kind. */
export function buildCluster(
  key: ClusterKey,
  policy: TrafficPolicySpec | undefined,
  client: ClientKind,
): Record<string, unknown> {
  const lb = lbPolicyFor(client, policy?.loadBalancer?.algorithm);
  return compact({
    name: key.name,
    type: 'EDS',
    eds_cluster_config: { eds_config: adsConfigSource(), service_name: key.name },
    connect_timeout: duration(connectTimeoutMs(policy?.connectionPool)),
    lb_policy: lb.policy,
    ring_hash_lb_config:
      lb.policy === 'RING_HASH'
        ? { minimum_ring_size: u32(MIN_RING_SIZE), maximum_ring_size: u32(MAX_RING_SIZE), hash_function: 'XX_HASH' }
        : undefined,
    outlier_detection: outlierDetection(policy?.outlierDetection),
    circuit_breakers: circuitBreakers(policy?.connectionPool),
    typed_extension_protocol_options: http2Options(client, key),
    metadata: {
      filter_metadata: {
        trellis: struct({
          service: key.service,
          port: key.port.port,
          port_name: key.port.name,
          subset: key.subset?.name,
          protocol: key.port.protocol,
          lb_algorithm: lb.sidecarAlgorithm,
        }),
      },
    },
  });
}

/** Every cluster of the mesh, sorted by name. */
export function buildClusters(index: MeshIndex, client: ClientKind): Record<string, unknown>[] {
  return index.clusters.map((key) => buildCluster(key, index.policyOf(key.service), client));
}
