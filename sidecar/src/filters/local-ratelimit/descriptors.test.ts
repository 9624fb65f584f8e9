// Descriptor buckets: verbatim matching, wildcard values with a bucket per value, and the bound on those buckets.
import { expect } from 'chai';
import { DescriptorBuckets, MAX_DYNAMIC_BUCKETS } from './descriptors.ts';

const spec = { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 };

describe('DescriptorBuckets', () => {
  it('matches same keys in order, values equal or wildcard', () => {
    const fixed = new DescriptorBuckets({ entries: [{ key: 'tenant', value: 'gold' }], tokenBucket: spec });
    expect(fixed.bucketFor([{ key: 'tenant', value: 'gold' }])).to.not.equal(undefined);
    expect(fixed.bucketFor([{ key: 'tenant', value: 'silver' }])).to.equal(undefined);
    expect(fixed.bucketFor([{ key: 'plan', value: 'gold' }])).to.equal(undefined);
    expect(
      fixed.bucketFor([
        { key: 'tenant', value: 'gold' },
        { key: 'x', value: 'y' },
      ]),
    ).to.equal(undefined);
    const wild = new DescriptorBuckets({
      entries: [
        { key: 'tenant', value: 'gold' },
        { key: 'remote_address', value: '' },
      ],
      tokenBucket: spec,
    });
    const a = wild.bucketFor([
      { key: 'tenant', value: 'gold' },
      { key: 'remote_address', value: '10.0.0.1' },
    ]);
    const b = wild.bucketFor([
      { key: 'tenant', value: 'gold' },
      { key: 'remote_address', value: '10.0.0.2' },
    ]);
    expect(a).to.not.equal(undefined);
    expect(b).to.not.equal(a);
    expect(
      wild.bucketFor([
        { key: 'tenant', value: 'gold' },
        { key: 'remote_address', value: '10.0.0.1' },
      ]),
    ).to.equal(a);
  });

  it('holds at most MAX_DYNAMIC_BUCKETS per-value buckets, dropping the least recently used', () => {
    const wild = new DescriptorBuckets({ entries: [{ key: 'k', value: '' }], tokenBucket: spec });
    const first = wild.bucketFor([{ key: 'k', value: 'v0' }]);
    for (let i = 1; i <= MAX_DYNAMIC_BUCKETS + 100; i++) {
      wild.bucketFor([{ key: 'k', value: `v${i}` }]);
      // v0 stays in use, so it is never the oldest.
      if (i % 1000 === 0) wild.bucketFor([{ key: 'k', value: 'v0' }]);
    }
    expect(wild.dynamicBuckets).to.equal(MAX_DYNAMIC_BUCKETS);
    expect(wild.bucketFor([{ key: 'k', value: 'v0' }])).to.equal(first);
  });
});
