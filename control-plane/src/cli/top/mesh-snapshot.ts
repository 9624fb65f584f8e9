// One reading of the mesh's sidecar metrics (a MeshStats response) in the shape top's math works on.
import type { MeshStatsResponseMessage } from '../../api/messages.ts';

/** The sidecar metric families `trellisctl top` reads (names as Envoy's Prometheus output spells them). */
export const TOP_METRICS = {
  downstreamRqXx: 'envoy_http_downstream_rq_xx',
  downstreamRqTimeBucket: 'envoy_http_downstream_rq_time_bucket',
  upstreamRqXx: 'envoy_cluster_upstream_rq_xx',
  ejectionsActive: 'envoy_cluster_outlier_detection_ejections_active',
  tcpDownstreamCx: 'envoy_tcp_downstream_cx_total',
  tcpDownstreamRxBytes: 'envoy_tcp_downstream_cx_rx_bytes_total',
  tcpDownstreamTxBytes: 'envoy_tcp_downstream_cx_tx_bytes_total',
} as const;

/** The prefixes top asks the control plane for (keeps MeshStats responses small). */
export const TOP_METRIC_PREFIXES: readonly string[] = Object.values(TOP_METRICS);

export interface SnapshotSample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

export interface ProxySnapshot {
  nodeId: string;
  service: string;
  /** Why this proxy has no samples ('' when it answered). */
  error: string;
  samples: readonly SnapshotSample[];
}

export interface MeshSnapshot {
  /** When the control plane started collecting (ms since the epoch). */
  atMs: number;
  proxies: readonly ProxySnapshot[];
}

export function snapshotFromResponse(res: MeshStatsResponseMessage): MeshSnapshot {
  return {
    atMs: Number(res.collected_at_ms),
    proxies: res.proxies.map((p) => ({
      nodeId: p.node_id,
      service: p.service,
      error: p.error,
      samples: p.samples.map((s) => ({ name: s.name, labels: { ...s.labels }, value: Number(s.value) })),
    })),
  };
}
