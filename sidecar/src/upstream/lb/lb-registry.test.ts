// LbRegistry setup: each policy name builds its balancer with the lbConfig the CDS decoder produces.
import { expect } from 'chai';
import { testHosts } from '../fixtures.ts';
import { setup } from './lb-registry.ts';
import { LeastConnectionsBalancer } from './least-connections.ts';
import { LeastRequestBalancer } from './least-request.ts';
import { LeastResponseTimeBalancer } from './least-response-time.ts';
import { MaglevBalancer } from './maglev.ts';
import { RandomBalancer } from './random.ts';
import { RingHashBalancer } from './ring-hash.ts';

describe('LbRegistry setup', () => {
  const registry = setup();
  const ctx = { cluster: 'c' };

  it('builds each policy', () => {
    expect(registry.create('LEAST_REQUEST', { choiceCount: 3 }, ctx)).to.be.instanceOf(LeastRequestBalancer);
    expect(registry.create('RANDOM', {}, ctx)).to.be.instanceOf(RandomBalancer);
    expect(registry.create('LEAST_CONNECTIONS', {}, ctx)).to.be.instanceOf(LeastConnectionsBalancer);
    expect(registry.create('LEAST_RESPONSE_TIME', {}, ctx)).to.be.instanceOf(LeastResponseTimeBalancer);
    expect(registry.create('RING_HASH', {}, ctx))
      .to.be.instanceOf(RingHashBalancer)
      .and.include({ hashBased: true });
    expect(registry.create('MAGLEV', {}, ctx))
      .to.be.instanceOf(MaglevBalancer)
      .and.include({ hashBased: true });
  });

  it('passes ring sizes and table size through', () => {
    const ring = registry.create(
      'RING_HASH',
      { minimumRingSize: 16, maximumRingSize: 64, hashFunction: 'XX_HASH' },
      ctx,
    ) as RingHashBalancer;
    ring.update(testHosts([1, 1, 1]));
    expect(ring.size()).to.equal(18);
    const capped = registry.create(
      'RING_HASH',
      { minimumRingSize: 1024, maximumRingSize: 64 },
      ctx,
    ) as RingHashBalancer;
    capped.update(testHosts([1, 1, 1]));
    expect(capped.size()).to.equal(64);
    expect((registry.create('MAGLEV', { tableSize: 1000 }, ctx) as MaglevBalancer).tableSize()).to.equal(1009);
  });

  it('tolerates odd configs (non-numbers fall back to the defaults)', () => {
    const lb = registry.create(
      'LEAST_REQUEST',
      { choiceCount: 'x', activeRequestBias: -1 },
      ctx,
    ) as LeastRequestBalancer;
    const [h] = testHosts([4]);
    h!.stats.activeRequests = 1;
    expect(lb.effectiveWeight(h!)).to.equal(2);
    expect((registry.create('MAGLEV', { tableSize: null }, ctx) as MaglevBalancer).tableSize()).to.equal(65537);
  });
});
