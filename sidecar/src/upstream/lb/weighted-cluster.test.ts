// Weighted cluster choice: proportional draws, zero weights, single and empty lists.
import { expect } from 'chai';
import fc from 'fast-check';
import { pickWeightedCluster } from './weighted-cluster.ts';

describe('pickWeightedCluster', () => {
  const clusters = [
    { name: 'v1', weight: 90 },
    { name: 'v0', weight: 0 },
    { name: 'v2', weight: 10 },
  ];

  it('maps the random draw onto the cumulative weights', () => {
    expect(pickWeightedCluster(clusters, 100, () => 0)).to.equal('v1');
    expect(pickWeightedCluster(clusters, 100, () => 0.899)).to.equal('v1');
    expect(pickWeightedCluster(clusters, 100, () => 0.9)).to.equal('v2');
    expect(pickWeightedCluster(clusters, 100, () => 0.9999999)).to.equal('v2');
  });

  it('handles one cluster, none, and a missing total', () => {
    expect(pickWeightedCluster([{ name: 'only', weight: 1 }], 1)).to.equal('only');
    expect(pickWeightedCluster([], 0)).to.equal(undefined);
    expect(pickWeightedCluster(clusters, 0, () => 0.95)).to.equal('v2');
  });

  it('property: never returns a zero-weight cluster when another has weight', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (draw) => {
        expect(pickWeightedCluster(clusters, 100, () => draw)).to.not.equal('v0');
      }),
    );
  });
});
