// The read side of the cluster manager used by the HTTP router and the TCP proxy.
import type { ClusterConfig } from '../config/model.ts';
import type { Host } from './host/host.ts';
import type { PickContext } from './lb/load-balancer.ts';
import type { OutlierResult } from './outlier/outlier-detector.ts';

export interface ClusterStats {
  upstreamRequests: number;
  upstreamConnections: number;
  /** Requests refused because a circuit breaker was open. */
  overflow: number;
  noHealthyHost: number;
  /** Requests the HTTP router has in flight on the cluster: what a retry budget is a share of. */
  routedRequests: number;
  /** Retries holding a retry-budget slot now. */
  budgetRetries: number;
}

/** A cluster's counters, all at zero. */
export function newClusterStats(): ClusterStats {
  return {
    upstreamRequests: 0,
    upstreamConnections: 0,
    overflow: 0,
    noHealthyHost: 0,
    routedRequests: 0,
    budgetRetries: 0,
  };
}

export interface Cluster {
  readonly name: string;
  readonly config: ClusterConfig;
  readonly stats: ClusterStats;
  pick(ctx: PickContext): Host | undefined;
  hosts(): readonly Host[];
  /** Circuit breaker: reserve a request slot; false when max_requests is reached (caller answers 503). */
  tryAcquireRequest(): boolean;
  releaseRequest(): void;
  /** Circuit breaker: reserve an upstream connection slot (max_connections); optional, absent = unlimited. */
  tryAcquireConnection?(): boolean;
  releaseConnection?(): void;
  /** Circuit breaker: reserve a retry slot (max_retries); optional, absent = unlimited. */
  tryAcquireRetry?(): boolean;
  releaseRetry?(): void;
  /**
   * Outlier detection: one result of a request or connection to `host` (HTTP status, or the local-origin outcome
   * 'success' | 'connect-failure' | 'timeout' | 'reset'); optional, absent = not tracked.
   */
  recordResult?(host: Host, result: OutlierResult): void;
}

export interface ClusterLookup {
  get(name: string): Cluster | undefined;
  /** Subscribes to hosts leaving a cluster (pools close idle connections to them); returns unsubscribe. */
  onHostsRemoved(listener: (cluster: string, hosts: readonly Host[]) => void): () => void;
}
