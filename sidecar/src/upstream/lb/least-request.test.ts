// Least request: P2C on active requests (equal weights), EDF on weight/(active+1)^bias (unequal), health and avoid.
import { expect } from 'chai';
import fc from 'fast-check';
import { tally, testHosts } from '../fixtures.ts';
import type { Host } from '../host/host.ts';
import { EdfScheduler } from './edf-scheduler.ts';
import { LeastRequestBalancer } from './least-request.ts';
import { Rng } from './rng.ts';

describe('LeastRequestBalancer', () => {
  it('equal weights, idle hosts: spreads evenly', () => {
    const hs = testHosts([1, 1, 1, 1]);
    const lb = new LeastRequestBalancer({ rng: new Rng(11) });
    lb.update(hs);
    const seen = tally(20000, () => lb.pick({}));
    for (const h of hs) expect(seen.get(h)! / 20000).to.be.within(0.22, 0.28);
  });

  it('equal weights: a host whose active requests stay high gets only the picks where every sample is it (1/N²)', () => {
    const hs = testHosts([1, 1, 1]);
    hs[0]!.stats.activeRequests = 10;
    const lb = new LeastRequestBalancer({ rng: new Rng(12) });
    lb.update(hs);
    const seen = tally(30000, () => lb.pick({}));
    expect(seen.get(hs[0])! / 30000).to.be.closeTo(1 / 9, 0.02);
    expect(seen.get(hs[1])! / 30000).to.be.closeTo(4 / 9, 0.02);
    // More choices shrink it further: 1/N³.
    const three = new LeastRequestBalancer({ choiceCount: 3, rng: new Rng(13) });
    three.update(hs);
    expect(tally(30000, () => three.pick({})).get(hs[0])! / 30000).to.be.closeTo(1 / 27, 0.01);
  });

  it('equal weights: requests that never finish stay balanced (each pick reads the live counts)', () => {
    const hs = testHosts([1, 1]);
    const lb = new LeastRequestBalancer({ rng: new Rng(14) });
    lb.update(hs);
    // Requests that never finish: the two hosts' counts never differ by more than the picks that sampled one host twice.
    for (let i = 0; i < 1000; i++) lb.pick({})!.stats.activeRequests++;
    expect(Math.abs(hs[0]!.stats.activeRequests - hs[1]!.stats.activeRequests)).to.be.below(60);
  });

  it('weights 1:3 with no requests in flight → exactly 25% / 75% per cycle (EDF = weighted round robin)', () => {
    const hs = testHosts([1, 3]);
    const lb = new LeastRequestBalancer({ rng: new Rng(15) });
    lb.update(hs);
    lb.pick({});
    const seen = tally(400, () => lb.pick({}));
    expect(seen.get(hs[0])).to.be.within(99, 101);
    expect(seen.get(hs[1])).to.be.within(299, 301);
  });

  // Host i is first due at (1 + o_i) / w_i with a random o_i in [0, 1), so after n picks it has floor(T·w_i − o_i)
  // of them for the scheduler's time T, and T − n/W < 2·H/W (H hosts, W the total weight). Its count is therefore
  // within (−2, 2·H·w_i/W) of n·w_i/W, however many cycles run: the random start shifts the shares, never drifts them.
  it('property: with idle hosts and any weights, shares are the weights (within the random start’s bound)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 2, maxLength: 8 }), (ws) => {
        fc.pre(new Set(ws).size > 1);
        const hs = testHosts(ws);
        const lb = new LeastRequestBalancer({ rng: new Rng(16) });
        lb.update(hs);
        const total = ws.reduce((a, b) => a + b, 0);
        const seen = tally(5 * total, () => lb.pick({}));
        hs.forEach((h, i) => {
          const deviation = (seen.get(h) ?? 0) - 5 * ws[i]!;
          expect(deviation).to.be.greaterThan(-2);
          expect(deviation).to.be.lessThan((2 * hs.length * ws[i]!) / total);
        });
      }),
    );
  });

  it('unequal weights: effective weight = weight / (active + 1) moves load off a busy host', () => {
    const hs = testHosts([2, 1]);
    hs[0]!.stats.activeRequests = 9; // 2 / 10 = 0.2 against 1 / 1
    const lb = new LeastRequestBalancer({ rng: new Rng(17) });
    lb.update(hs);
    const seen = tally(6000, () => lb.pick({}));
    expect(seen.get(hs[0])! / 6000).to.be.closeTo(0.2 / 1.2, 0.02);
    expect(lb.effectiveWeight(hs[0]!)).to.equal(0.2);
    // Bias 0: plain weighted round robin whatever the load; bias 2 squares the penalty.
    const flat = new LeastRequestBalancer({ activeRequestBias: 0, rng: new Rng(18) });
    flat.update(hs);
    expect(tally(3000, () => flat.pick({})).get(hs[0])! / 3000).to.be.closeTo(2 / 3, 0.01);
    expect(new LeastRequestBalancer({ activeRequestBias: 2 }).effectiveWeight(hs[0]!)).to.be.closeTo(0.02, 1e-12);
  });

  it('skips avoided hosts and hosts gone unhealthy while another is left, both modes', () => {
    for (const weights of [
      [1, 1, 1],
      [1, 2, 3],
    ]) {
      const hs = testHosts(weights);
      const lb = new LeastRequestBalancer({ rng: new Rng(19) });
      lb.update(hs);
      const avoid = new Set<Host>([hs[0]!, hs[1]!]);
      for (let i = 0; i < 50; i++) expect(lb.pick({ avoid })).to.equal(hs[2]);
      hs[2]!.healthy = false;
      for (let i = 0; i < 50; i++) expect(lb.pick({ avoid })).to.be.oneOf([hs[0], hs[1]]);
      hs[0]!.healthy = false;
      hs[1]!.healthy = false;
      expect(lb.pick({})).to.equal(undefined);
      lb.update(hs);
      expect(lb.pick({ avoid })).to.equal(undefined);
    }
    expect(new LeastRequestBalancer().pick({})).to.equal(undefined);
  });
});

describe('EdfScheduler', () => {
  it('pops by deadline (FIFO on ties); readd moves time to the deadline; restore keeps a skipped entry’s place', () => {
    const s = new EdfScheduler<string>();
    s.add('a', 1); // due 1
    s.add('b', 2); // due 0.5
    s.add('c', 2); // due 0.5, added after b
    const b = s.pop()!;
    expect(b.item).to.equal('b');
    s.readd(b, 2); // now 0.5 → b due 1.0, after a (same deadline, added earlier)
    const c = s.pop()!;
    expect(c.item).to.equal('c');
    s.restore(c);
    expect([s.pop()!.item, s.pop()!.item, s.pop()!.item]).to.deep.equal(['c', 'a', 'b']);
    expect(s.size).to.equal(0);
    expect(s.pop()).to.equal(undefined);
  });
});
