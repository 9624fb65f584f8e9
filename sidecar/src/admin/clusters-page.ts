// The /clusters admin page: Envoy-style `cluster::host::stat::value` text, or JSON with ?format=json.
import { circuitBreakersOf } from '../upstream/circuit-breaker.ts';
import type { Cluster } from '../upstream/cluster.ts';
import type { Host } from '../upstream/host/host.ts';

/** Why a host takes no traffic (Envoy's flag names); hosts without healthFlags() only know their EDS health. */
function flagsOf(host: Host): readonly string[] {
  if (host.healthFlags !== undefined) return host.healthFlags();
  return host.healthy ? [] : ['failed_eds_health'];
}

/** Envoy's health_flags: 'healthy', or why the host takes no traffic ('/failed_active_hc/failed_outlier_check'). */
function healthFlags(host: Host): string {
  const flags = flagsOf(host);
  return flags.length === 0 ? 'healthy' : flags.map((f) => `/${f}`).join('');
}

/** Envoy's /clusters?format=json health_status: EDS status plus one boolean per failed check. */
function healthStatus(host: Host): Record<string, unknown> {
  const flags = flagsOf(host);
  const status: Record<string, unknown> = {
    eds_health_status: flags.includes('eds_status_draining')
      ? 'DRAINING'
      : flags.includes('failed_eds_health')
        ? 'UNHEALTHY'
        : 'HEALTHY',
  };
  if (flags.includes('failed_active_hc')) status['failed_active_health_check'] = true;
  if (flags.includes('failed_outlier_check')) status['failed_outlier_check'] = true;
  return status;
}

function hostStats(host: Host): [string, number][] {
  const s = host.stats;
  return [
    ['cx_active', s.activeConnections],
    ['rq_active', s.activeRequests],
    ['rq_total', s.totalRequests],
    ['rq_error', s.failures],
  ];
}

/** Envoy's text format: thresholds and counters per cluster, then one line per host statistic. */
export function clustersText(clusters: readonly Cluster[]): string {
  const lines: string[] = [];
  for (const c of clusters) {
    const cb = circuitBreakersOf(c.config.circuitBreakers);
    const n = c.name;
    lines.push(
      `${n}::default_priority::max_connections::${cb.maxConnections}`,
      `${n}::default_priority::max_pending_requests::${cb.maxPendingRequests}`,
      `${n}::default_priority::max_requests::${cb.maxRequests}`,
      `${n}::default_priority::max_retries::${cb.maxRetries}`,
      `${n}::lb_policy::${c.config.lbPolicy}`,
      `${n}::upstream_rq_total::${c.stats.upstreamRequests}`,
      `${n}::upstream_cx_total::${c.stats.upstreamConnections}`,
      `${n}::upstream_rq_overflow::${c.stats.overflow}`,
      `${n}::upstream_cx_none_healthy::${c.stats.noHealthyHost}`,
    );
    for (const h of c.hosts()) {
      const p = `${n}::${h.key}::`;
      for (const [name, value] of hostStats(h)) lines.push(`${p}${name}::${value}`);
      lines.push(
        `${p}health_flags::${healthFlags(h)}`,
        `${p}weight::${h.weight}`,
        `${p}zone::${h.zone}`,
        `${p}priority::${h.priority}`,
      );
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** The same information shaped like Envoy's /clusters?format=json. */
export function clustersJson(clusters: readonly Cluster[]): Record<string, unknown> {
  return {
    cluster_statuses: clusters.map((c) => {
      const cb = circuitBreakersOf(c.config.circuitBreakers);
      return {
        name: c.name,
        added_via_api: true,
        lb_policy: c.config.lbPolicy,
        circuit_breakers: {
          thresholds: [
            {
              priority: 'DEFAULT',
              max_connections: cb.maxConnections,
              max_pending_requests: cb.maxPendingRequests,
              max_requests: cb.maxRequests,
              max_retries: cb.maxRetries,
            },
          ],
        },
        stats: {
          upstream_rq_total: c.stats.upstreamRequests,
          upstream_cx_total: c.stats.upstreamConnections,
          upstream_rq_overflow: c.stats.overflow,
          upstream_cx_none_healthy: c.stats.noHealthyHost,
        },
        host_statuses: c.hosts().map((h) => ({
          address: { socket_address: { address: h.address, port_value: h.port } },
          stats: hostStats(h).map(([name, value]) => ({ name, value })),
          health_status: healthStatus(h),
          weight: h.weight,
          locality: { zone: h.zone },
          priority: h.priority,
        })),
      };
    }),
  };
}
