// Smooth weighted round robin: exact weight shares per cycle, interleaving, random start, health and avoid sets.
import { expect } from 'chai';
import fc from 'fast-check';
import type { Host } from '../host/host.ts';
import { UpstreamHost } from '../host/upstream-host.ts';
import { LbRegistry, setup } from './lb-registry.ts';
import { RoundRobinBalancer, setup as setupRoundRobin } from './round-robin.ts';

function hosts(weights: number[]): UpstreamHost[] {
  return weights.map(
    (weight, i) =>
      new UpstreamHost({ address: `10.0.0.${i + 1}`, port: 80, weight, health: 'healthy' }, { zone: '', priority: 0 }),
  );
}

function counts(lb: RoundRobinBalancer, n: number, ctx = {}): Map<Host | undefined, number> {
  const seen = new Map<Host | undefined, number>();
  for (let i = 0; i < n; i++) {
    const h = lb.pick(ctx);
    seen.set(h, (seen.get(h) ?? 0) + 1);
  }
  return seen;
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

describe('RoundRobinBalancer', () => {
  it('interleaves by weight (5,1,1 → a a b a c a a), not in bursts', () => {
    const [a, b, c] = hosts([5, 1, 1]) as [UpstreamHost, UpstreamHost, UpstreamHost];
    const lb = new RoundRobinBalancer(() => 0);
    lb.update([a, b, c]);
    const order = Array.from({ length: 7 }, () => lb.pick({}));
    expect(order).to.deep.equal([a, a, b, a, c, a, a]);
  });

  it('starts at a random offset: equal weights rotate from the host the random draw points at', () => {
    const hs = hosts([1, 1, 1, 1]);
    const lb = new RoundRobinBalancer(() => 0.5);
    lb.update(hs);
    expect([lb.pick({}), lb.pick({}), lb.pick({}), lb.pick({}), lb.pick({})]).to.deep.equal([
      hs[2],
      hs[3],
      hs[0],
      hs[1],
      hs[2],
    ]);
  });

  it('property: over k·sum(weights) picks every host is chosen exactly k·weight times, whatever the offset', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 16 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1, max: 4 }),
        (weights, draw, k) => {
          const hs = hosts(weights);
          const lb = new RoundRobinBalancer(() => draw);
          lb.update(hs);
          const seen = counts(lb, k * sum(weights));
          hs.forEach((h, i) => {
            expect(seen.get(h) ?? 0).to.equal(k * (weights[i] as number));
          });
        },
      ),
    );
  });

  it('property: with equal weights every window of n consecutive picks visits each host once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 10 }), (n, w) => {
        const hs = hosts(Array.from({ length: n }, () => w));
        const lb = new RoundRobinBalancer();
        lb.update(hs);
        const picks = Array.from({ length: 3 * n }, () => lb.pick({}));
        for (let start = 0; start + n <= picks.length; start++) {
          expect(new Set(picks.slice(start, start + n)).size).to.equal(n);
        }
      }),
    );
  });

  it('property: shares stay within one cycle of the weights after hosts are added and removed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 2, maxLength: 10 }),
        fc.integer({ min: 0, max: 50 }),
        fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 4 }),
        (weights, warmup, added) => {
          const hs = hosts([...weights, ...added]);
          const lb = new RoundRobinBalancer();
          lb.update(hs.slice(0, weights.length));
          counts(lb, warmup);
          // Drop the first host, add the new ones: the rotation starts over and stays within a cycle.
          const next = hs.slice(1);
          lb.update(next);
          const nextWeights = next.map((h) => h.weight);
          const cycles = 5;
          const seen = counts(lb, cycles * sum(nextWeights));
          next.forEach((h) => {
            const expected = cycles * h.weight;
            expect(Math.abs((seen.get(h) ?? 0) - expected)).to.be.at.most(next.length);
          });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never picks unhealthy hosts and returns undefined when none is healthy', () => {
    const hs = hosts([1, 3, 1]);
    (hs[1] as UpstreamHost).healthy = false;
    const lb = new RoundRobinBalancer();
    lb.update(hs);
    const seen = counts(lb, 20);
    expect(seen.get(hs[1])).to.equal(undefined);
    expect(seen.get(hs[0])).to.equal(10);
    for (const h of hs) h.healthy = false;
    expect(lb.pick({})).to.equal(undefined);
    expect(new RoundRobinBalancer().pick({})).to.equal(undefined);
  });

  it('skips hosts in ctx.avoid when another healthy host exists, else picks among them', () => {
    const hs = hosts([10, 1]);
    const lb = new RoundRobinBalancer();
    lb.update(hs);
    const avoid = new Set<Host>([hs[0] as Host]);
    for (let i = 0; i < 5; i++) expect(lb.pick({ avoid })).to.equal(hs[1]);
    const all = new Set<Host>(hs);
    expect(all.has(lb.pick({ avoid: all }) as Host)).to.equal(true);
  });

  it('keeps rotating (no restart at the first host) across an update with the same hosts', () => {
    const hs = hosts([1, 1, 1]);
    const lb = new RoundRobinBalancer(() => 0);
    lb.update(hs);
    expect(lb.pick({})).to.equal(hs[0]);
    lb.update(hs.slice());
    expect(lb.pick({})).to.equal(hs[1]);
  });
});

describe('LbRegistry', () => {
  it('has nothing registered until setup(), then every policy', () => {
    const empty = new LbRegistry();
    expect(empty.policies()).to.deep.equal([]);
    expect(() => empty.create('ROUND_ROBIN', {}, { cluster: 'c' })).to.throw(/setup/);
    const registry = setup(new LbRegistry());
    expect(registry.policies().sort()).to.deep.equal([
      'LEAST_CONNECTIONS',
      'LEAST_REQUEST',
      'LEAST_RESPONSE_TIME',
      'MAGLEV',
      'RANDOM',
      'RING_HASH',
      'ROUND_ROBIN',
    ]);
    expect(registry.create('ROUND_ROBIN', {}, { cluster: 'c' })).to.be.instanceOf(RoundRobinBalancer);
  });

  it('falls back to round robin with a warning for a policy the registry lacks', () => {
    const warnings: unknown[] = [];
    const logger = { warn: (obj: unknown) => warnings.push(obj) } as unknown as import('pino').Logger;
    const registry = new LbRegistry();
    setupRoundRobin(registry);
    const lb = registry.create('MAGLEV', { tableSize: 65537 }, { cluster: 'orders|8080', logger });
    expect(lb).to.be.instanceOf(RoundRobinBalancer);
    expect(warnings).to.deep.equal([{ cluster: 'orders|8080', lbPolicy: 'MAGLEV', fallback: 'ROUND_ROBIN' }]);
  });

  it('uses a registered policy over the fallback', () => {
    const registry = setup();
    const custom = new RoundRobinBalancer();
    registry.register('RANDOM', () => custom);
    expect(registry.create('RANDOM', {}, { cluster: 'c' })).to.equal(custom);
  });
});
