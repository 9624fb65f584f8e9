// The shared idle sweeper: expires only exchanges idle past their limit, keeps active ones, stops when empty.
import { expect } from 'chai';
import { IdleSweeper, type IdleTracked } from './idle-sweeper.ts';

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
    // Every live entry, and only those, is still in the list: a sweep with all of them long idle expires each once.
    for (const x of all) x.lastActiveMs = -1e9;
    s.sweep();
    for (const x of all) expect(x.fired).to.equal(live.has(x) ? 1 : 0);
    expect(s.size()).to.equal(0);
  });

  it('expires every idle entry in one sweep even when an expiry untracks or re-tracks entries', () => {
    const s = new IdleSweeper();
    const xs = Array.from({ length: 10 }, () => tracked(1));
    // Entries expire from the end of the list; the 4th to expire (xs[6]) takes xs[0] and xs[9] with it (as a closing
    // connection ends its other requests), and xs[3] watches itself again (as a busy connection does).
    let expiries = 0;
    for (const x of xs) {
      x.idleTimedOut = function (this: IdleTracked & { fired: number }) {
        this.fired++;
        if (++expiries === 4) {
          s.untrack(xs[0] as IdleTracked);
          s.untrack(xs[9] as IdleTracked);
        }
        if (this === xs[3]) s.track(this);
      };
      s.track(x);
    }
    for (const x of xs) x.lastActiveMs = -1e9;
    s.sweep();
    expect(xs.map((x) => x.fired)).to.deep.equal([0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(s.size()).to.equal(1);
    expect((xs[3] as IdleTracked).idleSlot).to.equal(0);
  });

  it('never expires an entry early when a shorter limit shortens the period (stamps from the coarser clock)', () => {
    const s = new IdleSweeper(1000, 4);
    const long = tracked(60_000);
    s.track(long);
    expect(s.period).to.equal(1000);
    // As if the last sweep was 900 ms ago: stamps taken now are up to 900 ms stale.
    s.now = performance.now() - 900;
    const short = tracked(40);
    s.track(short);
    expect(s.period).to.equal(10);
    // Right away, nothing has been idle for 40 ms.
    s.sweep();
    expect(short.fired).to.equal(0);
    expect(long.fired).to.equal(0);
    s.untrack(long);
    s.untrack(short);
    s.sweep();
  });

  it('lengthens the period again once the entry with the shortest limit is gone', () => {
    const s = new IdleSweeper(1000, 4);
    const long = tracked(60_000);
    const short = tracked(40);
    s.track(long);
    s.track(short);
    expect(s.period).to.equal(10);
    s.untrack(short);
    s.sweep();
    expect(s.period).to.equal(1000);
    s.untrack(long);
    s.sweep();
  });
});
