// Percentiles: nearest rank over a list, and the log-bucketed histogram within its 5% bucket width.
import { expect } from 'chai';
import { LatencyHistogram, percentile } from './latency.ts';

describe('latency', () => {
  it('takes the nearest-rank percentile of a list', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted on purpose
    expect(percentile(values, 0.5)).to.equal(50);
    expect(percentile(values, 0.99)).to.equal(99);
    expect(percentile(values, 1)).to.equal(100);
    expect(percentile([7], 0.99)).to.equal(7);
    expect(percentile([], 0.5)).to.be.NaN;
  });

  it('keeps histogram percentiles within a bucket of the exact ones', () => {
    const h = new LatencyHistogram();
    const values: number[] = [];
    for (let i = 1; i <= 1000; i++) {
      const ms = (i % 97) * 0.37 + i / 50;
      values.push(ms);
      h.record(ms);
    }
    expect(h.count).to.equal(1000);
    for (const p of [0.5, 0.9, 0.99]) {
      const exact = percentile(values, p);
      expect(h.percentile(p), `p${p * 100}`).to.be.within(exact / 1.06, exact * 1.06);
    }
    expect(new LatencyHistogram().percentile(0.5)).to.be.NaN;
  });
});
