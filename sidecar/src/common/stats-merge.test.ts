import { expect } from 'chai';
import type { StatsSnapshot } from './stats.ts';
import { mergeSnapshots } from './stats-merge.ts';

const snap = (
  counters: [string, number][],
  gauges: [string, number][],
  histograms: Required<StatsSnapshot>['histograms'] = [],
): Required<StatsSnapshot> => ({ counters, gauges, histograms, tags: new Map() });

describe('mergeSnapshots (the stats of a sidecar’s worker threads)', () => {
  it('sums counters and the gauges of traffic in flight; state gauges take the largest, server.* the first', () => {
    const merged = mergeSnapshots([
      snap(
        [['cluster.a.upstream_rq_total', 3]],
        [
          ['server.uptime', 10],
          ['cluster.a.upstream_rq_active', 2],
          ['listener.127.0.0.1_1.downstream_cx_active', 1],
          ['cluster.a.membership_total', 3],
          ['cluster.a.outlier_detection.ejections_active', 0],
        ],
      ),
      snap(
        [
          ['cluster.a.upstream_rq_total', 4],
          ['cluster.b.upstream_rq_total', 1],
        ],
        [
          ['server.uptime', 9],
          ['cluster.a.upstream_rq_active', 5],
          ['listener.127.0.0.1_1.downstream_cx_active', 2],
          ['cluster.a.membership_total', 3],
          ['cluster.a.outlier_detection.ejections_active', 1],
        ],
      ),
    ]);
    expect(merged.counters).to.deep.equal([
      ['cluster.a.upstream_rq_total', 7],
      ['cluster.b.upstream_rq_total', 1],
    ]);
    expect(Object.fromEntries(merged.gauges)).to.deep.equal({
      'server.uptime': 10,
      'cluster.a.upstream_rq_active': 7,
      'listener.127.0.0.1_1.downstream_cx_active': 3,
      'cluster.a.membership_total': 3,
      'cluster.a.outlier_detection.ejections_active': 1,
    });
  });

  it('adds histograms bucket by bucket', () => {
    const h = (cumulative: number[], sum: number) => ({ bounds: [1, 10], cumulative, count: cumulative[1] ?? 0, sum });
    const merged = mergeSnapshots([
      snap([], [], [['http.in.downstream_rq_time', h([1, 2], 6)]]),
      snap([], [], [['http.in.downstream_rq_time', h([0, 3], 15)]]),
    ]);
    expect(merged.histograms).to.deep.equal([['http.in.downstream_rq_time', h([1, 5], 21)]]);
  });
});
