// Latency percentiles: exact over a small list, and a log-bucketed histogram (±2.5%) for a whole run.

/** The p-quantile (0..1) of values by nearest rank; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank] as number;
}

const GROWTH = 1.05;
const MIN_MS = 0.01;
const LOG_GROWTH = Math.log(GROWTH);

/** Counts per bucket [MIN·1.05^i, MIN·1.05^(i+1)); memory stays bounded however long the demo runs. */
export class LatencyHistogram {
  readonly #counts = new Map<number, number>();
  #total = 0;

  record(ms: number): void {
    const bucket = ms <= MIN_MS ? 0 : Math.floor(Math.log(ms / MIN_MS) / LOG_GROWTH);
    this.#counts.set(bucket, (this.#counts.get(bucket) ?? 0) + 1);
    this.#total++;
  }

  get count(): number {
    return this.#total;
  }

  /** The bucket midpoint holding the p-quantile; NaN when empty. */
  percentile(p: number): number {
    if (this.#total === 0) return Number.NaN;
    const target = Math.max(1, Math.ceil(p * this.#total));
    let seen = 0;
    for (const bucket of [...this.#counts.keys()].sort((a, b) => a - b)) {
      seen += this.#counts.get(bucket) as number;
      if (seen >= target) return MIN_MS * GROWTH ** (bucket + 0.5);
    }
    return Number.NaN;
  }
}
