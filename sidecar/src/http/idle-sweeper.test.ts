// The shared idle sweeper: expires only exchanges idle past their limit, keeps active ones, stops when empty.
import { expect } from 'chai';
import { IdleSweeper, type IdleTracked } from './idle-sweeper.ts';

function tracked(idleMs: number): IdleTracked & { fired: number } {
  return {
    idleMs,
    lastActiveMs: 0,
    fired: 0,
    idleTimedOut() {
      this.fired++;
    },
  };
}

describe('IdleSweeper', () => {
  it('expires an idle entry once, and never one that keeps marking activity', async () => {
    const s = new IdleSweeper();
    const idle = tracked(40);
    const busy = tracked(40);
    s.track(idle);
    s.track(busy);
    const started = performance.now();
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        busy.lastActiveMs = s.now;
        if (idle.fired > 0) {
          clearInterval(tick);
          resolve();
        }
      }, 5);
    });
    expect(performance.now() - started).to.be.at.least(40);
    expect(idle.fired).to.equal(1);
    expect(busy.fired).to.equal(0);
    expect(s.size()).to.equal(1);
    s.untrack(busy);
    s.sweep();
    expect(s.size()).to.equal(0);
  });
});
