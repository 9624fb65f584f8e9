// The shared idle sweeper: expires only exchanges idle past their limit, keeps active ones, stops when empty.
import { expect } from 'chai';
import { connectionSweeper, IdleSweeper, type IdleTracked } from './idle-sweeper.ts';

function tracked(idleMs: number): IdleTracked & { fired: number } {
  return {
    idleMs,
    lastActiveMs: 0,
    idleSlot: -1,
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

describe('IdleSweeper slots', () => {
  it('keeps exactly the tracked entries through any order of track and untrack', () => {
    const s = new IdleSweeper();
    const all = Array.from({ length: 50 }, () => tracked(1000));
    const live = new Set<IdleTracked>();
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let step = 0; step < 5000; step++) {
      const x = all[rand(all.length)] as IdleTracked;
      if (rand(2) === 0) {
        s.track(x);
        live.add(x);
      } else {
        s.untrack(x);
        live.delete(x);
      }
      expect(s.size()).to.equal(live.size);
    }
    for (const x of all) expect(x.idleSlot >= 0).to.equal(live.has(x));
  });

  it('expires every idle entry in one sweep even when an expiry untracks others', () => {
    const s = new IdleSweeper();
    const xs = Array.from({ length: 10 }, () => tracked(1));
    // The 4th to expire takes two others with it (as a closing connection ends its other requests).
    let expiries = 0;
    for (const x of xs) {
      x.idleTimedOut = function (this: IdleTracked & { fired: number }) {
        this.fired++;
        if (++expiries === 4) {
          s.untrack(xs[0] as IdleTracked);
          s.untrack(xs[9] as IdleTracked);
        }
      };
      s.track(x);
      x.lastActiveMs = -1e9;
    }
    s.sweep();
    expect(s.size()).to.equal(0);
    const fired = xs.map((x) => x.fired);
    expect(fired.every((f) => f <= 1)).to.equal(true);
    expect(fired.reduce((a, b) => a + b, 0)).to.be.at.least(8);
  });
});

describe('connectionSweeper', () => {
  it('closes a pooled upstream connection idle 4 s before a node server (5 s keep-alive) would', () => {
    const s = new IdleSweeper(250, 8);
    const pooled = tracked(4000);
    s.track(pooled);
    // Expiry comes between the limit and the limit + 2 periods.
    expect(4000 + 2 * s.period).to.be.below(5000);
    s.untrack(pooled);
    s.sweep();
    // The shared instance is built the same way.
    const probe = tracked(4000);
    connectionSweeper.track(probe);
    expect(4000 + 2 * connectionSweeper.period).to.be.below(5000);
    connectionSweeper.untrack(probe);
  });
});
