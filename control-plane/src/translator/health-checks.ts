// Cluster.health_checks: a TrafficPolicy's active probe, fitted to each port's protocol (proxies only).

import type { ClientKind } from '@trellis/node-contract';
import { duration } from '@trellis/xds-protos';
import { parseDuration } from '../resources/duration.ts';
import type { HealthCheck } from '../resources/types.ts';
import { statusRange } from '../resources/validate/health-check.ts';
import type { ClusterKey } from './mesh-index.ts';
import { compact, durationOf, u32 } from './proto-values.ts';
import { HTTP_PROTOCOL_OPTIONS_ENCODABLE, speaksHttp2 } from './protocol-options.ts';

/** Envoy requires these four; Trellis defaults them (Kubernetes-like probe timing). */
export const HEALTH_CHECK_DEFAULTS = {
  intervalMs: 10_000,
  timeoutMs: 1000,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
} as const;

function ms(text: string | undefined, fallback: number): number {
  const value = text === undefined ? undefined : parseDuration(text);
  return value !== undefined && value > 0 ? value : fallback;
}

/** expected_statuses as Envoy's half-open Int64Ranges ("200-299" → [200, 300)). */
function expectedStatuses(statuses: readonly (number | string)[] | undefined): Record<string, number>[] | undefined {
  if (!statuses) return undefined;
  const ranges: Record<string, number>[] = [];
  for (const s of statuses) {
    const r = statusRange(s);
    if (r) ranges.push({ start: r[0], end: r[1] + 1 });
  }
  return ranges.length > 0 ? ranges : undefined;
}

/**
 * The probe for one cluster, or why it is not sent there (`<kind>: …`): an HTTP probe needs an HTTP-speaking port (HTTP/2
 * codec on HTTP2/GRPC ports), a gRPC probe an HTTP/2 cluster, a TCP probe fits every port. The Host / :authority
 * defaults to the service name (Envoy would send the cluster name, `svc|port`, which is not a valid host).
 */
function probe(hc: HealthCheck, key: ClusterKey): Record<string, unknown> | string {
  const protocol = key.port.protocol;
  if (hc.http) {
    if (protocol === 'TCP') return `http: not sent for cluster ${key.name} (TCP port)`;
    return {
      http_health_check: compact({
        host: hc.http.host ?? key.service,
        path: hc.http.path,
        expected_statuses: expectedStatuses(hc.http.expectedStatuses),
        codec_client_type: speaksHttp2(protocol) ? 'HTTP2' : undefined,
      }),
    };
  }
  if (hc.grpc) {
    if (!speaksHttp2(protocol) || !HTTP_PROTOCOL_OPTIONS_ENCODABLE) {
      return `grpc: not sent for cluster ${key.name} (${protocol} port; gRPC probes need an HTTP2 or GRPC port)`;
    }
    return { grpc_health_check: compact({ service_name: hc.grpc.serviceName, authority: key.service }) };
  }
  return { tcp_health_check: {} };
}

/** health_checks for a cluster; none for proxyless clients (gRPC does not probe). */
export function healthChecks(
  hc: HealthCheck | undefined,
  key: ClusterKey,
  client: ClientKind,
  warn: (message: string) => void,
): Record<string, unknown>[] | undefined {
  if (!hc || client === 'proxyless') return undefined;
  const p = probe(hc, key);
  if (typeof p === 'string') {
    warn(`TrafficPolicy of service ${key.service}: healthCheck.${p}`);
    return undefined;
  }
  const d = HEALTH_CHECK_DEFAULTS;
  return [
    compact({
      timeout: duration(ms(hc.timeout, d.timeoutMs)),
      interval: duration(ms(hc.interval, d.intervalMs)),
      interval_jitter: durationOf(hc.jitter),
      healthy_threshold: u32(hc.healthyThreshold ?? d.healthyThreshold),
      unhealthy_threshold: u32(hc.unhealthyThreshold ?? d.unhealthyThreshold),
      ...p,
    }),
  ];
}
