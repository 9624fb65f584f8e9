// Per-endpoint and always-present cluster stats computed at scrape time from the clusters' hosts (the hot path only
// bumps numbers on the Host): requests by status class, active requests and connections, health and ejection.
import type { StatTag } from '../common/stats.ts';
import type { Cluster } from '../upstream/cluster.ts';

export interface ComputedStats {
  counters: [string, number][];
  gauges: [string, number][];
  tags: Map<string, StatTag>;
}

const CLASSES = ['1', '2', '3', '4', '5'] as const;

/**
 * `cluster.<c>.endpoint.<address:port>.*`, tagged envoy_cluster_name + envoy_endpoint_address (family
 * `envoy_cluster_endpoint_*`); plus outlier detection's ejections_active / ejections_enforced_total at 0 for clusters
 * without outlier detection (Envoy has them on every cluster), unless `has` says they exist already.
 */
export function endpointStats(clusters: readonly Cluster[], has: (name: string) => boolean): ComputedStats {
  const out: ComputedStats = { counters: [], gauges: [], tags: new Map() };
  for (const c of clusters) {
    const od = `cluster.${c.name}.outlier_detection.`;
    if (!has(`${od}ejections_active`)) out.gauges.push([`${od}ejections_active`, 0]);
    if (!has(`${od}ejections_enforced_total`)) out.counters.push([`${od}ejections_enforced_total`, 0]);
    for (const h of c.hosts()) {
      const p = `cluster.${c.name}.endpoint.${h.key}.`;
      const labels: [string, string][] = [
        ['envoy_cluster_name', c.name],
        ['envoy_endpoint_address', h.key],
      ];
      const add = (list: [string, number][], stat: string, value: number, extra?: [string, string]): void => {
        const name = `${p}${stat}${extra === undefined ? '' : `_${extra[1]}xx`}`;
        list.push([name, value]);
        out.tags.set(name, {
          family: `envoy_cluster_endpoint_${stat}${extra === undefined ? '' : '_xx'}`,
          labels: extra === undefined ? labels : [...labels, extra],
        });
      };
      const s = h.stats;
      for (let i = 0; i < CLASSES.length; i++) {
        const cls = CLASSES[i] as string;
        add(out.counters, 'upstream_rq', s.responseClasses[i + 1] ?? 0, ['envoy_response_code_class', cls]);
      }
      add(out.counters, 'upstream_rq_total', s.totalRequests);
      add(out.gauges, 'upstream_rq_active', s.activeRequests);
      add(out.gauges, 'upstream_cx_active', s.activeConnections);
      add(out.gauges, 'healthy', h.healthy ? 1 : 0);
      add(out.gauges, 'outlier_ejected', h.healthFlags?.().includes('failed_outlier_check') === true ? 1 : 0);
    }
  }
  return out;
}
