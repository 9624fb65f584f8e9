// One smooth weighted round robin step (nginx's algorithm), shared by the round-robin and least-connections balancers.

import type { Host } from '../host/host.ts';

/**
 * Running scores per host index. A step is fed the eligible hosts one at a time (`offer`): each adds its weight to
 * its score; `end` takes the highest score (ties: the first offered) and subtracts the step's total weight from it.
 * Over any window of sum(weights) steps over the same hosts each is chosen exactly `weight` times, spread out.
 */
export class SmoothWrr {
  scores: number[] = [];
  private total = 0;
  private best = -1;
  private bestScore = 0;

  /**
   * Carries the scores of hosts that stay over to `hosts` (new ones start at 0); `reset` starts every score over
   * (after a removal the remaining scores no longer sum to zero, and one host would win several steps in a row).
   */
  rebase(previous: readonly Host[], hosts: readonly Host[], reset: boolean): void {
    if (reset) {
      this.scores = hosts.map(() => 0);
      return;
    }
    const old = new Map<Host, number>();
    for (let i = 0; i < previous.length; i++) old.set(previous[i] as Host, this.scores[i] ?? 0);
    this.scores = hosts.map((h) => old.get(h) ?? 0);
  }

  begin(): void {
    this.total = 0;
    this.best = -1;
    this.bestScore = 0;
  }

  /** Host `i` (weight ≥ 1) takes part in this step. */
  offer(i: number, weight: number): void {
    const score = (this.scores[i] as number) + weight;
    this.scores[i] = score;
    this.total += weight;
    if (this.best < 0 || score > this.bestScore) {
      this.best = i;
      this.bestScore = score;
    }
  }

  /** The chosen index, or -1 when nothing was offered (then no score changed). */
  end(): number {
    const best = this.best;
    if (best >= 0) this.scores[best] = this.bestScore - this.total;
    return best;
  }
}
