// One snapshot from several: the stats of a sidecar's worker threads, as the admin port shows them. Counters and
// histograms of the same name are summed, and so are the gauges of traffic in flight (connections, requests, faults
// active in each thread); gauges of state every thread holds alike (cluster membership, health, an open circuit
// breaker, ejections) take the largest value, and those of the process (server.*) the first snapshot's (the main
// thread's).
import type { HistogramSnapshot } from './histogram.ts';
import type { StatsSnapshot, StatTag } from './stats.ts';

/** Gauges that describe the process as a whole: the first snapshot's value (the main thread's), not a sum. */
const PROCESS_GAUGES: ReadonlySet<string> = new Set([
  'server.state',
  'server.live',
  'server.uptime',
  'server.concurrency',
]);

/** Gauges of traffic in flight in one thread: summed over the threads. */
const IN_FLIGHT = /(?:_cx_active|_rq_active|rq_pending_active|\.active_faults)$/;

function sumHistograms(a: HistogramSnapshot, b: HistogramSnapshot): HistogramSnapshot {
  if (a.bounds.length !== b.bounds.length || a.bounds.some((x, i) => x !== b.bounds[i])) {
    // Different buckets cannot be added bucket by bucket: keep the first (never happens: bounds are fixed per name).
    return a;
  }
  return {
    bounds: a.bounds,
    cumulative: a.cumulative.map((c, i) => c + (b.cumulative[i] ?? 0)),
    count: a.count + b.count,
    sum: a.sum + b.sum,
  };
}

function byName<T>(a: [string, T], b: [string, T]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

export function mergeSnapshots(snapshots: readonly Required<StatsSnapshot>[]): Required<StatsSnapshot> {
  const counters = new Map<string, number>();
  const gauges = new Map<string, number>();
  const histograms = new Map<string, HistogramSnapshot>();
  const tags = new Map<string, StatTag>();
  for (const snap of snapshots) {
    for (const [name, v] of snap.counters) counters.set(name, (counters.get(name) ?? 0) + v);
    for (const [name, v] of snap.gauges) {
      const prev = gauges.get(name);
      if (prev === undefined) gauges.set(name, v);
      else if (IN_FLIGHT.test(name)) gauges.set(name, prev + v);
      else if (!PROCESS_GAUGES.has(name)) gauges.set(name, Math.max(prev, v));
    }
    for (const [name, h] of snap.histograms) {
      const prev = histograms.get(name);
      histograms.set(name, prev === undefined ? h : sumHistograms(prev, h));
    }
    for (const [name, tag] of snap.tags) if (!tags.has(name)) tags.set(name, tag);
  }
  return {
    counters: [...counters].sort(byName),
    gauges: [...gauges].sort(byName),
    histograms: [...histograms].sort(byName),
    tags,
  };
}
