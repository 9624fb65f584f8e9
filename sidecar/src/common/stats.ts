// Counters, gauges and histograms keyed by Envoy-style dotted names (e.g. cluster.orders|8080.upstream_rq_2xx), read by /stats.
import { Histogram, type HistogramSnapshot } from './histogram.ts';

/**
 * An explicit Prometheus family and labels for a stat whose dotted name cannot be cut into tags by position (route
 * and endpoint stats, whose names hold arbitrary vhost, route and address strings).
 */
export interface StatTag {
  family: string;
  labels: readonly (readonly [string, string])[];
}

/** Everything at one moment, each list sorted by name. */
export interface StatsSnapshot {
  counters: [string, number][];
  gauges: [string, number][];
  histograms?: [string, HistogramSnapshot][];
  /** Explicit Prometheus names of some of the stats above. */
  tags?: ReadonlyMap<string, StatTag>;
}

function byName<T>(a: [string, T], b: [string, T]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

export class Stats {
  private readonly counters = new Map<string, number>();
  private readonly computed = new Map<string, () => number>();
  private readonly gauges = new Map<string, () => number>();
  private readonly histograms = new Map<string, Histogram>();
  private readonly tags = new Map<string, StatTag>();

  /** Adds n (default 1) to a counter, creating it at 0. */
  inc(name: string, n = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + n);
  }

  /** Registers a gauge read on demand; returns the unregister function. */
  gauge(name: string, read: () => number): () => void {
    this.gauges.set(name, read);
    return () => {
      if (this.gauges.get(name) === read) this.gauges.delete(name);
    };
  }

  /**
   * Registers a counter whose (monotonic) value is read on demand, e.g. bytes of live sockets; returns unregister.
   * A name also incremented with inc() reports the sum (one cluster's bytes through the TCP proxy and HTTP pools).
   */
  counterFn(name: string, read: () => number): () => void {
    this.computed.set(name, read);
    return () => {
      if (this.computed.get(name) === read) this.computed.delete(name);
    };
  }

  /** The histogram of that name, created on first use: callers keep the object and observe() on it. */
  histogram(name: string): Histogram {
    let h = this.histograms.get(name);
    if (h === undefined) {
      h = new Histogram();
      this.histograms.set(name, h);
    }
    return h;
  }

  /** Gives a stat an explicit Prometheus family and labels (set once, at the time its name is built). */
  tag(name: string, tag: StatTag): void {
    this.tags.set(name, tag);
  }

  /** A gauge's value now (0 when no gauge has that name). */
  gaugeValue(name: string): number {
    return this.gauges.get(name)?.() ?? 0;
  }

  counter(name: string): number {
    return (this.counters.get(name) ?? 0) + (this.computed.get(name)?.() ?? 0);
  }

  /** Every counter, gauge and histogram, sorted by name. */
  snapshot(): Required<StatsSnapshot> {
    const merged = new Map(this.counters);
    for (const [k, read] of this.computed) merged.set(k, (merged.get(k) ?? 0) + read());
    const counters = [...merged.entries()];
    const gauges = [...this.gauges.entries()].map(([k, read]): [string, number] => [k, read()]);
    const histograms = [...this.histograms.entries()].map(([k, h]): [string, HistogramSnapshot] => [k, h.snapshot()]);
    return {
      counters: counters.sort(byName),
      gauges: gauges.sort(byName),
      histograms: histograms.sort(byName),
      tags: this.tags,
    };
  }
}
