// Maglev: table construction (prime size, even spread, weights), stable mapping, ≈1/N disruption, health and avoid sets.
import { expect } from 'chai';
import fc from 'fast-check';
import { tally, testHosts } from '../fixtures.ts';
import type { Host } from '../host/host.ts';
import { hostAnchor } from './hash64.ts';
import { MaglevBalancer, nextPrime } from './maglev.ts';
import { Rng } from './rng.ts';

const rng = new Rng(99);
const KEYS = Array.from({ length: 20000 }, () => (BigInt(rng.nextUint32()) << 32n) | BigInt(rng.nextUint32()));

function maglev(hosts: readonly Host[], tableSize?: number): MaglevBalancer {
  const lb = new MaglevBalancer({ rng: new Rng(3), ...(tableSize !== undefined ? { tableSize } : {}) });
  lb.update(hosts);
  return lb;
}

describe('MaglevBalancer', () => {
  it('uses a prime table (65537 by default; other sizes rounded up to a prime)', () => {
    expect(maglev([]).tableSize()).to.equal(65537);
    expect(maglev([], 1000).tableSize()).to.equal(1009);
    expect(nextPrime(65537)).to.equal(65537);
    expect(nextPrime(5_000_000)).to.equal(5_000_011);
  });

  it('spreads keys evenly over equal hosts and 25% / 75% (±5%) over weights 1:3, with and without a hash', () => {
    const even = testHosts([1, 1, 1, 1, 1]);
    const lbEven = maglev(even);
    const seen = tally(KEYS.length, (i) => lbEven.pick({ hash: KEYS[i]! }));
    for (const h of even) expect(seen.get(h)! / KEYS.length).to.be.within(0.18, 0.22);
    const hs = testHosts([1, 3]);
    const lb = maglev(hs);
    const byKey = tally(KEYS.length, (i) => lb.pick({ hash: KEYS[i]! }));
    expect(byKey.get(hs[0])! / KEYS.length).to.be.within(0.2, 0.3);
    const random = tally(20000, () => lb.pick({}));
    expect(random.get(hs[0])! / 20000).to.be.within(0.2, 0.3);
  });

  it('property: the same hash always lands on the same host, whatever the host order or objects', () => {
    const hs = testHosts([2, 1, 1, 4]);
    const a = maglev(hs);
    const b = maglev(testHosts([2, 1, 1, 4]).reverse());
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (hash) => {
        const h = a.pick({ hash });
        expect(a.pick({ hash })).to.equal(h);
        expect(b.pick({ hash })?.key).to.equal(h?.key);
      }),
    );
  });

  it('property: removing one of N hosts moves ≈1/N of keys (plus a few slots disturbed by the refill)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 40 }), fc.nat(), (n, which) => {
        const hs = testHosts(Array.from({ length: n }, () => 1));
        const gone = hs[which % n]!;
        const before = maglev(hs, 5003);
        const after = maglev(
          hs.filter((h) => h !== gone),
          5003,
        );
        let moved = 0;
        for (const hash of KEYS.slice(0, 5000)) {
          const a = before.pick({ hash });
          const b = after.pick({ hash });
          expect(b).to.not.equal(gone);
          if (a !== b) moved++;
        }
        expect(moved / 5000).to.be.within(1 / n - 0.03, 1 / n + Math.max(0.03, 0.5 / n));
      }),
      { numRuns: 20 },
    );
  });

  it('sends a host anchor hash (sticky cookie) to that host while it is in the table', () => {
    const hs = testHosts([1, 1, 1, 1, 1, 1]);
    const lb = maglev(hs);
    for (const h of hs) expect(lb.pick({ hash: hostAnchor(h.key) })).to.equal(h);
    hs[2]!.healthy = false;
    expect(lb.pick({ hash: hostAnchor(hs[2]!.key) })).to.not.equal(hs[2]);
  });

  it('retries with another hash for hosts gone unhealthy or avoided; picks nothing from empty/unhealthy sets', () => {
    const hs = testHosts([1, 1, 1]);
    const lb = maglev(hs);
    const hash = KEYS[0]!;
    const first = lb.pick({ hash })!;
    const avoid = new Set<Host>([first]);
    const second = lb.pick({ hash, avoid });
    expect(second).to.not.equal(first).and.not.equal(undefined);
    expect(lb.pick({ hash, avoid })).to.equal(second);
    expect(lb.pick({ hash, avoid: new Set<Host>(hs) })).to.equal(first);
    for (const h of hs) h.healthy = false;
    expect(lb.pick({ hash })).to.equal(undefined);
    lb.update(hs);
    expect(lb.pick({})).to.equal(undefined);
    expect(maglev([]).pick({ hash })).to.equal(undefined);
  });
});
