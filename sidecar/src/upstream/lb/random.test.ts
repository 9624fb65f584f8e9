// Weighted random: shares follow weights, health and avoid sets respected, seeded draws reproducible.
import { expect } from 'chai';
import fc from 'fast-check';
import { tally, testHosts } from '../fixtures.ts';
import type { Host } from '../host/host.ts';
import { RandomBalancer } from './random.ts';
import { Rng } from './rng.ts';

describe('RandomBalancer', () => {
  it('weights 1:3 → 25% / 75% (±5%)', () => {
    const hs = testHosts([1, 3]);
    const lb = new RandomBalancer(new Rng(5));
    lb.update(hs);
    const seen = tally(20000, () => lb.pick({}));
    expect(seen.get(hs[0])! / 20000).to.be.within(0.2, 0.3);
    expect(seen.get(hs[1])! / 20000).to.be.within(0.7, 0.8);
  });

  it('property: every host gets weight/total of the picks (±3%)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 8 }),
        fc.integer(),
        (ws, seed) => {
          const hs = testHosts(ws);
          const lb = new RandomBalancer(new Rng(seed || 1));
          lb.update(hs);
          const seen = tally(20000, () => lb.pick({}));
          const total = ws.reduce((a, b) => a + b, 0);
          hs.forEach((h, i) => {
            expect((seen.get(h) ?? 0) / 20000).to.be.closeTo(ws[i]! / total, 0.03);
          });
        },
      ),
      { numRuns: 30 },
    );
  });

  it('never picks unhealthy hosts (at update or since), nor avoided ones while another is left', () => {
    const hs = testHosts([1, 1, 5]);
    hs[0]!.healthy = false;
    const lb = new RandomBalancer(new Rng(9));
    lb.update(hs);
    hs[2]!.healthy = false;
    expect(new Set(Array.from({ length: 200 }, () => lb.pick({})))).to.deep.equal(new Set([hs[1]]));
    hs[2]!.healthy = true;
    const avoid = new Set<Host>([hs[2]!]);
    expect(new Set(Array.from({ length: 200 }, () => lb.pick({ avoid })))).to.deep.equal(new Set([hs[1]]));
    expect(lb.pick({ avoid: new Set<Host>(hs) })).to.be.oneOf([hs[1], hs[2]]);
  });

  it('returns undefined for empty and all-unhealthy sets', () => {
    const lb = new RandomBalancer();
    expect(lb.pick({})).to.equal(undefined);
    const hs = testHosts([1, 2]);
    lb.update(hs);
    for (const h of hs) h.healthy = false;
    expect(lb.pick({})).to.equal(undefined);
    lb.update(hs);
    expect(lb.pick({})).to.equal(undefined);
  });
});
