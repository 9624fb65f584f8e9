// The sampling decision, made before any span object exists: a parent's decision wins, else a ratio.
import type { SpanContext } from './span-context.ts';

/** Percent (0-100) as a probability, clamped. */
export function ratioOf(percent: number): number {
  if (!(percent > 0)) return 0;
  return percent >= 100 ? 1 : percent / 100;
}

/** Parent-based: a sampled / unsampled parent decides; a root (or a deferred B3 parent) is sampled with `ratio`. */
export function shouldSample(
  parent: SpanContext | undefined,
  ratio: number,
  random: () => number = Math.random,
): boolean {
  if (parent !== undefined && parent.sampled !== undefined) return parent.sampled;
  if (ratio >= 1) return true;
  if (ratio <= 0) return false;
  return random() < ratio;
}
