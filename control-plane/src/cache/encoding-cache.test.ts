// The shared encoding cache: byte-identical to a fresh encode, bounded, and versions that follow content.
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import { contentKey, EncodingCache, sealed } from './encoding-cache.ts';
import { edsCluster, loadAssignment, mesh } from './fixtures.ts';
import { shortHash } from './hash.ts';
import { Snapshot } from './snapshot.ts';

describe('EncodingCache', () => {
  it('returns the bytes and version of a fresh encode, from the cache on the second call', () => {
    const cache = new EncodingCache();
    const cla = loadAssignment('orders', '10.0.0.1', '10.0.0.2');
    const first = cache.encode(TYPE_URLS.endpoint, cla);
    const again = cache.encode(TYPE_URLS.endpoint, structuredClone(cla));
    const fresh = anyOf(TYPE_URLS.endpoint, cla).value;
    expect(Buffer.from(first.value).equals(Buffer.from(fresh))).to.equal(true);
    expect(again).to.equal(first);
    expect(first.version).to.equal(shortHash(fresh));
    expect(cache.stats()).to.include({ entries: 1, hits: 1, misses: 1 });
  });

  it('keys by type as well as content', () => {
    const cache = new EncodingCache();
    expect(() => cache.encode(TYPE_URLS.cluster, { name: 'x' })).to.not.throw();
    expect(() => cache.encode(TYPE_URLS.listener, { name: 'x' })).to.not.throw();
    expect(cache.stats().entries).to.equal(2);
  });

  it('evicts the least recently used entries to stay within maxBytes', () => {
    const cache = new EncodingCache({ maxBytes: 4096 });
    const clusters = Array.from({ length: 200 }, (_, i) => edsCluster(`c${i}`));
    for (const c of clusters) cache.encode(TYPE_URLS.cluster, c);
    const { entries, bytes } = cache.stats();
    expect(bytes).to.be.at.most(4096);
    expect(entries).to.be.greaterThan(0).and.lessThan(200);
    // The newest is still there; the oldest was evicted and re-encodes (a miss) to the same bytes.
    const misses = cache.stats().misses;
    cache.encode(TYPE_URLS.cluster, clusters[199]!);
    expect(cache.stats().misses).to.equal(misses);
    const again = cache.encode(TYPE_URLS.cluster, clusters[0]!);
    expect(cache.stats().misses).to.equal(misses + 1);
    expect(Buffer.from(again.value).equals(Buffer.from(anyOf(TYPE_URLS.cluster, clusters[0]!).value))).to.equal(true);
  });

  it('refuses a resource of the wrong shape every time, and caches nothing for it', () => {
    const cache = new EncodingCache();
    for (let i = 0; i < 2; i++) {
      expect(() => cache.encode(TYPE_URLS.cluster, { name: 'a', lb_policy: 'FASTEST' })).to.throw(
        /envoy\.config\.cluster\.v3\.Cluster: lb_policy: expected one of/,
      );
    }
    expect(cache.stats().entries).to.equal(0);
  });

  it('does not let values JSON cannot tell apart share an encoding', () => {
    expect(contentKey({ a: 1 })).to.equal('{"a":1}');
    expect(contentKey({ a: '1' })).to.not.equal(contentKey({ a: 1 }));
    for (const v of [
      null,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -0,
      () => 1,
      new Uint8Array(1),
      new Date(0),
      [undefined],
    ]) {
      expect(contentKey({ a: v }), String(v)).to.equal(undefined);
    }
    const cache = new EncodingCache();
    cache.encode(TYPE_URLS.cluster, { name: 'a' });
    // JSON would drop the function and match { name: 'a' }: it is checked (and refused) instead.
    expect(() => cache.encode(TYPE_URLS.cluster, { name: 'a', type: () => 'EDS' })).to.throw(/type: expected one of/);
  });

  it('finds a sealed object by identity, and sealing freezes it deeply', () => {
    const cache = new EncodingCache();
    const cla = sealed(loadAssignment('orders', '10.0.0.1'));
    const first = cache.encode(TYPE_URLS.endpoint, cla);
    expect(cache.encode(TYPE_URLS.endpoint, cla)).to.equal(first);
    expect(Object.isFrozen((cla['endpoints'] as object[])[0])).to.equal(true);
  });
});

describe('Snapshot versions through the shared cache', () => {
  it('a changed resource gets a new version; unchanged ones keep theirs and share bytes', () => {
    const a = Snapshot.fromObjects('1', mesh({ orders: ['10.0.0.1'], users: ['10.0.0.2'] }));
    const b = Snapshot.fromObjects('2', mesh({ orders: ['10.0.0.9'], users: ['10.0.0.2'] }));
    const fresh = Snapshot.fromObjects('3', mesh({ orders: ['10.0.0.9'], users: ['10.0.0.2'] }), new EncodingCache());
    const [ea, eb] = [a.resources('endpoint'), b.resources('endpoint')];
    expect(ea.get('orders')!.version).to.not.equal(eb.get('orders')!.version);
    expect(ea.get('users')!.version).to.equal(eb.get('users')!.version);
    expect(ea.get('users')!.value).to.equal(eb.get('users')!.value);
    for (const type of ['cluster', 'endpoint', 'listener', 'route'] as const) {
      for (const [name, r] of fresh.resources(type)) {
        const cached = b.resources(type).get(name)!;
        expect(cached.version, name).to.equal(r.version);
        expect(Buffer.from(cached.value).equals(Buffer.from(r.value)), name).to.equal(true);
      }
    }
  });
});
