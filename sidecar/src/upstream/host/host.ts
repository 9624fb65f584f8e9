// An upstream host (one endpoint of a cluster) with the live counters balancers and the admin page read.

export interface HostStats {
  activeRequests: number;
  activeConnections: number;
  totalRequests: number;
  /** Responses 5xx or connect/reset failures. */
  failures: number;
  /** Upstream response heads by status class: index = status / 100 (1-5), 0 for anything else (metrics observer). */
  responseClasses: number[];
}

/** Peak-EWMA response time state (latency.ts keeps it; least-response-time.ts reads it). */
export interface HostLatency {
  /** The estimate in ms as of `stampMs`. */
  ewmaMs: number;
  /** When the estimate was last updated (performance.now() ms). */
  stampMs: number;
}

export interface Host {
  /** `address:port`, unique within a cluster. */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly zone: string;
  readonly priority: number;
  /**
   * Takes traffic: EDS health, and for cluster-manager hosts also passing active health checks and not ejected by
   * outlier detection. Assigning sets the EDS part.
   */
  healthy: boolean;
  readonly stats: HostStats;
  /** Response time estimate, once a response was observed (recordLatency in latency.ts). */
  latency?: HostLatency | undefined;
  /** The endpoint's transport-socket-match metadata (cluster manager hosts). */
  readonly transportMatch?: Readonly<Record<string, string>> | undefined;
  /** Envoy's reasons the host is unhealthy ('failed_active_hc', 'failed_outlier_check', …); empty when healthy. */
  healthFlags?(): readonly string[];
}

export function newHostStats(): HostStats {
  return {
    activeRequests: 0,
    activeConnections: 0,
    totalRequests: 0,
    failures: 0,
    responseClasses: [0, 0, 0, 0, 0, 0],
  };
}
