// Counters and gauges keyed by Envoy-style dotted names (e.g. cluster.orders|8080.upstream_rq_2xx), read by /stats.

export class Stats {
  private readonly counters = new Map<string, number>();
  private readonly gauges = new Map<string, () => number>();

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

  counter(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  /** Every counter and gauge, sorted by name. */
  snapshot(): { counters: [string, number][]; gauges: [string, number][] } {
    const counters = [...this.counters.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const gauges = [...this.gauges.entries()]
      .map(([k, read]): [string, number] => [k, read()])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return { counters, gauges };
  }
}
