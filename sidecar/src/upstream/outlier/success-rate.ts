// Pure statistics for the interval detectors: per-host success rates, Envoy's mean − stdev×factor threshold, and
// which hosts the success-rate and failure-percentage detectors pick.

/** Requests seen by one host in one interval (success = not a 5xx / not a local-origin failure). */
export interface RequestCounts {
  success: number;
  total: number;
}

export interface RateSample<K> {
  key: K;
  /** Success rate in percent (0-100). */
  rate: number;
  volume: number;
}

/** Mean and ejection threshold (mean − factor × population stdev) of the samples' success rates. */
export function successRateThreshold<K>(
  samples: readonly RateSample<K>[],
  stdevFactor: number,
): { mean: number; threshold: number } {
  let sum = 0;
  for (const s of samples) sum += s.rate;
  const mean = sum / samples.length;
  let variance = 0;
  for (const s of samples) variance += (s.rate - mean) ** 2;
  variance /= samples.length;
  return { mean, threshold: mean - stdevFactor * Math.sqrt(variance) };
}

/** Hosts whose success rate is below the threshold, when at least `minimumHosts` hosts had `requestVolume`. */
export function successRateOutliers<K>(
  samples: readonly RateSample<K>[],
  settings: { minimumHosts: number; requestVolume: number; stdevFactor: number },
): K[] {
  const valid = samples.filter((s) => s.volume >= settings.requestVolume);
  if (valid.length === 0 || valid.length < settings.minimumHosts) return [];
  const { threshold } = successRateThreshold(valid, settings.stdevFactor);
  return valid.filter((s) => s.rate < threshold).map((s) => s.key);
}

/** Hosts failing at least `threshold` percent of requests, when at least `minimumHosts` hosts had `requestVolume`. */
export function failurePercentageOutliers<K>(
  samples: readonly RateSample<K>[],
  settings: { threshold: number; minimumHosts: number; requestVolume: number },
): K[] {
  const valid = samples.filter((s) => s.volume >= settings.requestVolume);
  if (valid.length === 0 || valid.length < settings.minimumHosts) return [];
  return valid.filter((s) => 100 - s.rate >= settings.threshold).map((s) => s.key);
}
