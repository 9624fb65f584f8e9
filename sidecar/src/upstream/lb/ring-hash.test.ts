// Ring hash: Envoy's ring construction, stable key → host mapping, weights, minimal disruption, health and avoid sets.
import { expect } from 'chai';
import fc from 'fast-check';
import { tally, testHosts } from '../fixtures.ts';
import type { Host } from '../host/host.ts';
import { hostAnchor } from './hash64.ts';
import { RingHashBalancer } from './ring-hash.ts';
import { Rng } from './rng.ts';
import { xxh64 } from './xxhash64.ts';

const rng = new Rng(12345);
const key64 = (): bigint => (BigInt(rng.nextUint32()) << 32n) | BigInt(rng.nextUint32());
const KEYS = Array.from({ length: 20000 }, key64);

function ring(hosts: readonly Host[], options = {}): RingHashBalancer {
  const lb = new RingHashBalancer({ rng: new Rng(1), ...options });
  lb.update(hosts);
  return lb;
}

describe('RingHashBalancer', () => {
  it("builds Envoy's ring: ⌈min_ring_size / N⌉ points per equal host, ring of xxh64('<address:port>_<i>')", () => {
    const hs = testHosts([1, 1, 1]);
    const lb = ring(hs);
    expect(lb.size()).to.equal(342 * 3);
    // A hash equal to one of a host's points lands on that host (the first point ≥ hash is the point itself).
    for (const h of hs) {
      for (const i of [0, 1, 341]) expect(lb.pick({ hash: xxh64(`${h.key}_${i}`) })).to.equal(h);
    }
    expect(lb.pick({ hash: hostAnchor(hs[1]!.key) })).to.equal(hs[1]);
    expect(ring(hs, { minimumRingSize: 10, maximumRingSize: 6 }).size()).to.equal(6);
  });

  it('property: the same hash always lands on the same host, also on a ring rebuilt from equal host objects', () => {
    const hs = testHosts([1, 2, 3, 1, 5]);
    const a = ring(hs);
    const b = ring(testHosts([1, 2, 3, 1, 5]));
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (hash) => {
        const h = a.pick({ hash });
        expect(a.pick({ hash })).to.equal(h);
        expect(b.pick({ hash })?.key).to.equal(h?.key);
      }),
    );
  });

  it('32-bit number hashes spread over the whole ring too', () => {
    const hs = testHosts([1, 1, 1, 1]);
    const lb = ring(hs);
    const seen = tally(4000, () => lb.pick({ hash: rng.nextUint32() }));
    for (const h of hs) expect(seen.get(h)! / 4000).to.be.within(0.17, 0.33);
  });

  it('weights 1:3 get 25% / 75% of keys (±5%), and of hashless picks', () => {
    const hs = testHosts([1, 3]);
    const lb = ring(hs);
    const byKey = tally(KEYS.length, (i) => lb.pick({ hash: KEYS[i]! }));
    expect(byKey.get(hs[0])! / KEYS.length).to.be.within(0.2, 0.3);
    const random = tally(20000, () => lb.pick({}));
    expect(random.get(hs[0])! / 20000).to.be.within(0.2, 0.3);
    expect(random.get(hs[1])! / 20000).to.be.within(0.7, 0.8);
  });

  it('property: removing one of N hosts moves its keys and few others (Envoy rescales the ring: ≤ 2/N in all)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 40 }), fc.nat(), (n, which) => {
        const hs = testHosts(Array.from({ length: n }, () => 1));
        const gone = hs[which % n]!;
        const before = ring(hs);
        const after = ring(hs.filter((h) => h !== gone));
        let moved = 0;
        let survivorsMoved = 0;
        for (const hash of KEYS.slice(0, 5000)) {
          const a = before.pick({ hash });
          const b = after.pick({ hash });
          expect(b).to.not.equal(gone);
          if (a !== b) {
            moved++;
            if (a !== gone) survivorsMoved++;
          }
        }
        expect(moved / 5000).to.be.within(1 / n - 0.05, 2 / n + 0.03);
        // Keys of surviving hosts move only to the survivors' added points: ≈ (1/N)·(N−2)/(N−1).
        expect(survivorsMoved / 5000).to.be.at.most(1 / n + 0.03);
      }),
      { numRuns: 15 },
    );
  });

  it('when the per-host point count does not change, exactly the removed host’s keys move', () => {
    // ⌈1024/50⌉ = ⌈1024/49⌉ = 21 points per host.
    const hs = testHosts(Array.from({ length: 50 }, () => 1));
    const before = ring(hs);
    const after = ring(hs.slice(1));
    for (const hash of KEYS) {
      const a = before.pick({ hash });
      if (a !== hs[0]) expect(after.pick({ hash })).to.equal(a);
    }
  });

  it('skips hosts gone unhealthy since the build and ctx.avoid, walking on along the ring', () => {
    const hs = testHosts([1, 1, 1]);
    const lb = ring(hs);
    const hash = xxh64(`${hs[0]!.key}_5`);
    expect(lb.pick({ hash })).to.equal(hs[0]);
    const avoid = new Set<Host>([hs[0]!]);
    const next = lb.pick({ hash, avoid });
    expect(next).to.not.equal(hs[0]);
    expect(lb.pick({ hash, avoid })).to.equal(next);
    hs[0]!.healthy = false;
    expect(lb.pick({ hash })).to.equal(next);
    // Every host avoided: the avoid set is only a preference.
    hs[0]!.healthy = true;
    expect(lb.pick({ hash, avoid: new Set<Host>(hs) })).to.equal(hs[0]);
  });

  it('rebuilds from the healthy hosts on update; empty or all-unhealthy sets pick nothing', () => {
    expect(ring([]).pick({ hash: 1n })).to.equal(undefined);
    const hs = testHosts([1, 1]);
    hs[0]!.healthy = false;
    const lb = ring(hs);
    expect(lb.size()).to.equal(1024);
    expect(new Set(KEYS.slice(0, 200).map((hash) => lb.pick({ hash })))).to.deep.equal(new Set([hs[1]]));
    hs[1]!.healthy = false;
    expect(lb.pick({ hash: 5n })).to.equal(undefined);
    expect(lb.pick({})).to.equal(undefined);
    lb.update(hs);
    expect(lb.size()).to.equal(0);
    expect(lb.pick({ hash: 5n })).to.equal(undefined);
  });
});
