// A fixed-bucket histogram (Envoy's default buckets, in ms): observe = a short scan of a small sorted array.

/** Envoy's default histogram bucket bounds (ms). */
export const DEFAULT_BUCKETS_MS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000,
  3_600_000,
];

/** Counts, sum and cumulative buckets at one moment (what /stats and /stats/prometheus render). */
export interface HistogramSnapshot {
  /** Upper bounds, ascending; the implicit last bucket is +Inf. */
  bounds: readonly number[];
  /** Cumulative counts per bound (observations ≤ bound), same length as bounds. */
  cumulative: number[];
  count: number;
  sum: number;
}

export class Histogram {
  readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last slot holds those above every bound. */
  private readonly counts: Float64Array;
  count = 0;
  sum = 0;

  constructor(bounds: readonly number[] = DEFAULT_BUCKETS_MS) {
    for (let i = 1; i < bounds.length; i++) {
      if (!((bounds[i] as number) > (bounds[i - 1] as number))) throw new Error('histogram bounds must ascend');
    }
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Records one value; NaN and negative values are ignored. */
  observe(value: number): void {
    if (!(value >= 0)) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.count++;
    this.sum += value;
  }

  snapshot(): HistogramSnapshot {
    const cumulative: number[] = [];
    let running = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      running += this.counts[i] as number;
      cumulative.push(running);
    }
    return { bounds: this.bounds, cumulative, count: this.count, sum: this.sum };
  }
}

/**
 * The q-quantile (0-1) estimated from the buckets: the upper bound of the bucket it falls in (linear within it), NaN
 * when empty; values above the last bound report the last bound.
 */
export function quantile(h: HistogramSnapshot, q: number): number {
  if (h.count === 0) return Number.NaN;
  const rank = q * h.count;
  let lower = 0;
  let below = 0;
  for (let i = 0; i < h.bounds.length; i++) {
    const upper = h.bounds[i] as number;
    const at = h.cumulative[i] as number;
    if (at >= rank && at > below) return lower + ((upper - lower) * (rank - below)) / (at - below);
    lower = upper;
    below = at;
  }
  return h.bounds[h.bounds.length - 1] ?? Number.NaN;
}
