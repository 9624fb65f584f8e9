// Clusters: one EDS cluster per service port and per subset, carrying the service's TrafficPolicy for each client kind.

import type { ClientKind } from '@trellis/node-contract';
import { duration } from '@trellis/xds-protos';
import { sealed } from '../cache/encoding-cache.ts';
import { parseDuration } from '../resources/duration.ts';
import type { ConnectionPool, TrafficPolicySpec } from '../resources/types.ts';
import { circuitBreakers } from './circuit-breakers.ts';
import { healthChecks } from './health-checks.ts';
import { loadBalancing } from './lb-config.ts';
import { translationCaching } from './memo.ts';
import type { ClusterKey, MeshIndex } from './mesh-index.ts';
import { outlierDetection } from './outlier-detection.ts';
import { adsConfigSource, compact, struct } from './proto-values.ts';
import { upstreamProtocolOptions } from './protocol-options.ts';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

function connectTimeoutMs(pool: ConnectionPool | undefined): number {
  const ms = pool?.connectTimeout === undefined ? undefined : parseDuration(pool.connectTimeout);
  return ms !== undefined && ms > 0 ? ms : DEFAULT_CONNECT_TIMEOUT_MS;
}

/**
 * The Cluster for one cluster key, tailored to the client kind: proxyless gRPC gets only what it implements
 * (ROUND_ROBIN / RING_HASH, statistical outlier detection, max_requests), proxies get every field.
 */
export function buildCluster(
  key: ClusterKey,
  policy: TrafficPolicySpec | undefined,
  client: ClientKind,
  warn: (message: string) => void = () => {},
): Record<string, unknown> {
  const lb = loadBalancing(policy?.loadBalancer, client);
  const pool = policy?.connectionPool;
  return compact({
    name: key.name,
    type: 'EDS',
    eds_cluster_config: { eds_config: adsConfigSource(), service_name: key.name },
    connect_timeout: duration(connectTimeoutMs(pool)),
    ...lb.fields,
    health_checks: healthChecks(policy?.healthCheck, key, client, warn),
    outlier_detection: outlierDetection(policy?.outlierDetection, client),
    circuit_breakers: circuitBreakers(pool, client),
    typed_extension_protocol_options:
      client === 'proxyless' ? undefined : upstreamProtocolOptions(key.port.protocol, pool?.idleTimeout),
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

/** A built cluster (sealed: shared by every group and round) and the warnings building it gave. */
interface BuiltCluster {
  cluster: Record<string, unknown>;
  warnings: readonly string[];
}

const MAX_CACHED_CLUSTERS = 20_000;

/**
 * Clusters already built, by the JSON of their only inputs (cluster key, the service's policy, client kind). Cleared
 * when it outgrows MAX_CACHED_CLUSTERS, which bounds it however often policies change.
 */
const builtClusters = new Map<string, BuiltCluster>();

/** buildCluster through the content-keyed cache; replays the warnings the first build gave. */
function cachedCluster(
  key: ClusterKey,
  policy: TrafficPolicySpec | undefined,
  client: ClientKind,
  warn: (message: string) => void,
): Record<string, unknown> {
  if (!translationCaching.enabled) return buildCluster(key, policy, client, warn);
  const id = JSON.stringify([client, key, policy ?? null]);
  let built = builtClusters.get(id);
  if (!built) {
    const warnings: string[] = [];
    const cluster = sealed(buildCluster(key, policy, client, (m) => warnings.push(m)));
    built = { cluster, warnings };
    if (builtClusters.size >= MAX_CACHED_CLUSTERS) builtClusters.clear();
    builtClusters.set(id, built);
  }
  for (const m of built.warnings) warn(m);
  return built.cluster;
}

/** Every cluster of the mesh, sorted by name. */
export function buildClusters(
  index: MeshIndex,
  client: ClientKind,
  warn: (message: string) => void = () => {},
): Record<string, unknown>[] {
  return index.clusters.map((key) => cachedCluster(key, index.policyOf(key.service), client, warn));
}
