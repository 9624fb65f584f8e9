// Zone-aware routing: local zone first while it has its share of healthy capacity, proportional spill-over, fallbacks.
import { expect } from 'chai';
import { tally, testHosts } from '../fixtures.ts';
import type { Host } from '../host/host.ts';
import type { UpstreamHost } from '../host/upstream-host.ts';
import { LocalityAwareBalancer } from './locality.ts';
import { RandomBalancer } from './random.ts';
import { Rng } from './rng.ts';
import { RoundRobinBalancer } from './round-robin.ts';

/** Hosts in zones: { a: [1, 1], b: [3] } → weights per zone, addresses distinct across zones. */
function zoned(spec: Record<string, number[]>): Record<string, UpstreamHost[]> {
  const out: Record<string, UpstreamHost[]> = {};
  let offset = 0;
  for (const [zone, weights] of Object.entries(spec)) {
    const hs = testHosts([...Array(offset).fill(1), ...weights], { zone }).slice(offset);
    offset += weights.length;
    out[zone] = hs;
  }
  return out;
}

function balancer(localZone: string, hosts: Host[], seed = 1): LocalityAwareBalancer {
  const rng = new Rng(seed);
  const lb = new LocalityAwareBalancer(localZone, new RoundRobinBalancer(), () => new RoundRobinBalancer(), rng);
  lb.update(hosts);
  return lb;
}

const share = (seen: Map<Host | undefined, number>, hosts: Host[], n: number): number =>
  hosts.reduce((a, h) => a + (seen.get(h) ?? 0), 0) / n;

describe('LocalityAwareBalancer', () => {
  it('keeps every pick in the local zone while its availability is at least the cluster’s', () => {
    const z = zoned({ a: [1, 1], b: [1, 1, 1], c: [1] });
    const lb = balancer('a', [...z.a!, ...z.b!, ...z.c!]);
    expect(lb.routing()).to.deep.equal({ localShare: 1, spill: {} });
    const seen = tally(100, () => lb.pick({}));
    expect(share(seen, z.a!, 100)).to.equal(1);
    // Another zone degraded: the local zone is now above the average, still all local.
    z.b![0]!.healthy = false;
    lb.update([...z.a!, ...z.b!, ...z.c!]);
    expect(lb.routing()?.localShare).to.equal(1);
  });

  it('below the cluster’s availability keeps local/cluster of the picks and spills the rest by healthy weight', () => {
    // a (local): 2 of 4 healthy = 50%; cluster: 10 of 12 = 83.3% → 60% local; b and c share 40% as 4 : 4.
    const z = zoned({ a: [1, 1, 1, 1], b: [1, 1, 1, 1], c: [2, 2] });
    z.a![0]!.healthy = false;
    z.a![1]!.healthy = false;
    const all = [...z.a!, ...z.b!, ...z.c!];
    const lb = balancer('a', all, 7);
    const plan = lb.routing()!;
    expect(plan.localShare).to.be.closeTo(0.6, 1e-12);
    expect(plan.spill['b']).to.be.closeTo(0.2, 1e-12);
    expect(plan.spill['c']).to.be.closeTo(0.2, 1e-12);
    const n = 20000;
    const seen = tally(n, () => lb.pick({}));
    expect(share(seen, z.a!, n)).to.be.closeTo(0.6, 0.02);
    expect(share(seen, z.b!, n)).to.be.closeTo(0.2, 0.02);
    expect(share(seen, z.c!, n)).to.be.closeTo(0.2, 0.02);
    expect(seen.get(z.a![0])).to.equal(undefined);
  });

  it('spill-over follows the other zones’ healthy weight, and weights hold inside a zone (1:3 → 25/75)', () => {
    const z = zoned({ a: [1, 1], b: [1, 3], c: [2] });
    z.a![0]!.healthy = false; // local 1/2 vs cluster 7/8 → 4/7 local
    const lb = new LocalityAwareBalancer(
      'a',
      new RandomBalancer(new Rng(3)),
      () => new RandomBalancer(new Rng(4)),
      new Rng(5),
    );
    lb.update([...z.a!, ...z.b!, ...z.c!]);
    const plan = lb.routing()!;
    expect(plan.localShare).to.be.closeTo(4 / 7, 1e-12);
    expect(plan.spill['b']! / plan.spill['c']!).to.be.closeTo(2, 1e-12);
    const n = 40000;
    const seen = tally(n, () => lb.pick({}));
    const inB = share(seen, z.b!, n);
    expect(share(seen, [z.b![0]!], n) / inB).to.be.closeTo(0.25, 0.05);
  });

  it('is the plain inner policy without a local zone, with one zone only, or without healthy local hosts', () => {
    const z = zoned({ a: [1, 1], b: [1, 1] });
    const all = [...z.a!, ...z.b!];
    for (const lb of [balancer('', all), balancer('zz', all), balancer('a', z.a!)]) {
      expect(lb.routing()).to.equal(undefined);
    }
    const rr = balancer('', all);
    expect(new Set(Array.from({ length: 4 }, () => rr.pick({}))).size).to.equal(4);
    for (const h of z.a!) h.healthy = false;
    const lb = balancer('a', all);
    expect(lb.routing()).to.equal(undefined);
    expect(z.b).to.include(lb.pick({}));
  });

  it('falls back to the whole set when the local zone has only avoided or newly unhealthy hosts', () => {
    const z = zoned({ a: [1], b: [1, 1] });
    const lb = balancer('a', [...z.a!, ...z.b!]);
    expect(lb.pick({})).to.equal(z.a![0]);
    const avoid = new Set<Host>([z.a![0]!]);
    expect(z.b).to.include(lb.pick({ avoid }));
    z.a![0]!.healthy = false; // not yet re-planned: the local balancer finds nothing, the pick goes global
    expect(z.b).to.include(lb.pick({}));
    z.b![0]!.healthy = false;
    z.b![1]!.healthy = false;
    expect(lb.pick({})).to.equal(undefined);
  });
});
