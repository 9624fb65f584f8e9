// Precomputed stat names for the HTTP connection manager and the clusters it calls, so requests never build strings.
import type { Stats } from '../../common/stats.ts';

function classNames(prefix: string): string[] {
  return ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'].map((c) => `${prefix}_${c}`);
}

function statusClass(status: number): number {
  const c = (status / 100) | 0;
  return c >= 1 && c <= 5 ? c : 0;
}

/** `http.<statPrefix>.*` */
export class HttpStatNames {
  readonly rqTotal: string;
  readonly cxActive: string;
  readonly cxTotal: string;
  readonly rqActive: string;
  readonly rqTimeout: string;
  readonly rqIdleTimeout: string;
  readonly rqFailedPathNormalization: string;
  readonly rqRedirectedWithNormalizedPath: string;
  readonly rqHeaderTimeout: string;
  readonly cxIdleTimeout: string;
  readonly cxMaxRequestsReached: string;
  readonly rqTooManyPrematureResets: string;
  readonly cxOverflow: string;
  private readonly rqClass: string[];

  constructor(statPrefix: string) {
    const p = `http.${statPrefix}.`;
    this.rqTotal = `${p}downstream_rq_total`;
    this.cxActive = `${p}downstream_cx_active`;
    this.cxTotal = `${p}downstream_cx_total`;
    this.rqActive = `${p}downstream_rq_active`;
    this.rqTimeout = `${p}downstream_rq_timeout`;
    this.rqIdleTimeout = `${p}downstream_rq_idle_timeout`;
    this.rqFailedPathNormalization = `${p}downstream_rq_failed_path_normalization`;
    this.rqRedirectedWithNormalizedPath = `${p}downstream_rq_redirected_with_normalized_path`;
    this.rqHeaderTimeout = `${p}downstream_rq_header_timeout`;
    this.cxIdleTimeout = `${p}downstream_cx_idle_timeout`;
    this.cxMaxRequestsReached = `${p}downstream_cx_max_requests_reached`;
    this.rqTooManyPrematureResets = `${p}downstream_rq_too_many_premature_resets`;
    this.cxOverflow = `${p}downstream_cx_overflow`;
    this.rqClass = classNames(`${p}downstream_rq`);
  }

  response(stats: Stats, status: number): void {
    stats.inc(this.rqClass[statusClass(status)] as string);
  }
}

/** `cluster.<name>.*` */
export class ClusterStatNames {
  readonly rqTotal: string;
  readonly cxConnectFail: string;
  readonly rqRetry: string;
  readonly rqTimeout: string;
  readonly rqPerTryTimeout: string;
  readonly rqReset: string;
  private readonly rqClass: string[];

  constructor(cluster: string) {
    const p = `cluster.${cluster}.`;
    this.rqTotal = `${p}upstream_rq_total`;
    this.cxConnectFail = `${p}upstream_cx_connect_fail`;
    this.rqRetry = `${p}upstream_rq_retry`;
    this.rqTimeout = `${p}upstream_rq_timeout`;
    this.rqPerTryTimeout = `${p}upstream_rq_per_try_timeout`;
    this.rqReset = `${p}upstream_rq_rx_reset`;
    this.rqClass = classNames(`${p}upstream_rq`);
  }

  response(stats: Stats, status: number): void {
    stats.inc(this.rqClass[statusClass(status)] as string);
  }
}

const clusterNames = new Map<string, ClusterStatNames>();

/** The (process-wide, memoized) stat names of a cluster. */
export function clusterStatNames(cluster: string): ClusterStatNames {
  let names = clusterNames.get(cluster);
  if (names === undefined) {
    names = new ClusterStatNames(cluster);
    clusterNames.set(cluster, names);
  }
  return names;
}
