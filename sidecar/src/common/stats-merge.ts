// One snapshot from several: the stats of a sidecar's workers, as the admin port shows them (counters, gauges and
// histograms of the same name summed; gauges that describe the process, not the traffic, taken from the first).
import type { HistogramSnapshot } from './histogram.ts';
import type { StatsSnapshot, StatTag } from './stats.ts';

/** Gauges that describe the process as a whole: the first snapshot's value (the main thread's), not a sum. */
const PROCESS_GAUGES: ReadonlySet<string> = new Set([
  'server.state',
  'server.live',
  'server.uptime',
  'server.concurrency',
]);

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
      gauges.set(name, prev === undefined ? v : PROCESS_GAUGES.has(name) ? prev : prev + v);
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
