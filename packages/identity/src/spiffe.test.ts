// SPIFFE workload ids: built from valid parts only, parsed back, anything else refused.
import { expect } from 'chai';
import { isTrustDomain, parseSpiffeId, spiffeId } from './spiffe.ts';

describe('SPIFFE ids', () => {
  it('builds and parses spiffe://<td>/ns/<ns>/sa/<sa>', () => {
    const id = { trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'web-v1' };
    expect(spiffeId(id)).to.equal('spiffe://cluster.local/ns/shop/sa/web-v1');
    expect(parseSpiffeId('spiffe://cluster.local/ns/shop/sa/web-v1')).to.deep.equal(id);
  });

  it('refuses what SPIFFE does not allow', () => {
    expect(isTrustDomain('Cluster.Local')).to.equal(false);
    expect(isTrustDomain('a'.repeat(256))).to.equal(false);
    expect(() => spiffeId({ trustDomain: 'td', namespace: '..', serviceAccount: 'x' })).to.throw('invalid namespace');
    expect(() => spiffeId({ trustDomain: 'td', namespace: 'a', serviceAccount: 'x/y' })).to.throw(
      'invalid service account',
    );
    for (const uri of [
      'spiffe://td/ns/a/sa/b/extra',
      'spiffe://td/ns/a',
      'https://td/ns/a/sa/b',
      'spiffe://TD/ns/a/sa/b',
      'spiffe://td/ns/./sa/b',
    ])
      expect(parseSpiffeId(uri), uri).to.equal(undefined);
  });
});
