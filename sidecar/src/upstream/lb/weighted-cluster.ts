// Chooses one of a route's (or TCP proxy's) weighted clusters at random in proportion to the weights.
import type { WeightedCluster } from '../../config/model.ts';

/**
 * A cluster name drawn with probability weight/totalWeight; undefined when the list is empty. `totalWeight` is
 * the config's precomputed sum (recomputed when it is not positive); zero weights are never drawn unless all are 0.
 */
export function pickWeightedCluster(
  clusters: readonly WeightedCluster[],
  totalWeight: number,
  random: () => number = Math.random,
): string | undefined {
  if (clusters.length === 1) return clusters[0]?.name;
  let total = totalWeight;
  if (!(total > 0)) {
    total = 0;
    for (const c of clusters) total += Math.max(c.weight, 0);
    if (total === 0) return clusters[0]?.name;
  }
  let r = random() * total;
  for (const c of clusters) {
    if (c.weight <= 0) continue;
    if (r < c.weight) return c.name;
    r -= c.weight;
  }
  // Rounding, or a totalWeight larger than the sum: the last cluster with weight.
  for (let i = clusters.length - 1; i >= 0; i--) if ((clusters[i]?.weight ?? 0) > 0) return clusters[i]?.name;
  return clusters[0]?.name;
}
