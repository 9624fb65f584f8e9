// Panic mode in every balancer (and the zone-aware wrapper): update(hosts, true) makes unhealthy hosts eligible.
import { expect } from 'chai';
import type { LbPolicyName } from '../config/model.ts';
import { tally, testHosts } from './fixtures.ts';
import type { Host } from './host/host.ts';
import { setup } from './lb/lb-registry.ts';
import type { LoadBalancer } from './lb/load-balancer.ts';
import { LocalityAwareBalancer } from './lb/locality.ts';
import { Rng } from './lb/rng.ts';
import { RoundRobinBalancer } from './lb/round-robin.ts';
import { xxh64 } from './lb/xxhash64.ts';

/** Keys of the hosts `lb` picks over 600 draws (a different request hash each time, for the hash policies). */
function picked(lb: LoadBalancer, avoid?: ReadonlySet<Host>): string[] {
  const seen = tally(600, (i) => lb.pick({ hash: xxh64(`request-${i}`), ...(avoid ? { avoid } : {}) })?.key);
  return [...seen.keys()].map(String).sort();
}

/** Proves a balancer honours panic: all hosts while in it, healthy ones again after, avoid sets throughout. */
function provesPanic(make: () => LoadBalancer): void {
  const hosts = testHosts([1, 2, 1]);
  const [a, b, c] = hosts.map((h) => h.key) as [string, string, string];
  (hosts[0] as Host).healthy = false;
  (hosts[1] as Host).healthy = false;
  const lb = make();
  lb.update(hosts);
  expect(picked(lb)).to.deep.equal([c]);
  lb.update(hosts, true);
  expect(picked(lb)).to.deep.equal([a, b, c]);
  expect(picked(lb, new Set<Host>([hosts[2] as Host]))).to.deep.equal([a, b]);
  lb.update(hosts, false);
  expect(picked(lb)).to.deep.equal([c]);
}

describe('panic mode (LoadBalancer.update(hosts, panic))', () => {
  const registry = setup();
  for (const policy of registry.policies()) {
    it(`${policy}: balances over every host in panic, over the healthy ones after`, () => {
      provesPanic(() => registry.create(policy as LbPolicyName, {}, { cluster: 'c' }));
    });
  }

  it('zone-aware wrapper: in panic every host of every zone, the local zone no longer preferred', () => {
    // Zone a (local): one of two healthy; zone b: none of two. 25% healthy overall.
    const all = testHosts([1, 1, 1, 1], { zone: 'a' });
    for (const h of all.slice(2)) h.zone = 'b';
    for (const i of [0, 2, 3]) (all[i] as Host).healthy = false;
    const make = () => new RoundRobinBalancer(() => 0);
    const lb = new LocalityAwareBalancer('a', make(), make, new Rng(3));
    lb.update(all);
    expect(picked(lb)).to.deep.equal([(all[1] as Host).key]);
    lb.update(all, true);
    expect(lb.routing()).to.equal(undefined);
    expect(picked(lb)).to.deep.equal(all.map((h) => h.key).sort());
  });
});
