// Peak EWMA response time estimates: first observation, peaks, time-weighted blending, decay while idle.
import { expect } from 'chai';
import fc from 'fast-check';
import { testHosts } from '../fixtures.ts';
import { latencyEstimate, recordLatency } from './latency.ts';

describe('latency (peak EWMA)', () => {
  it('takes the first observation as is, jumps to a higher one, blends a lower one by elapsed time', () => {
    const [h] = testHosts([1]);
    expect(latencyEstimate(h!, 0)).to.equal(undefined);
    recordLatency(h!, 10, 0);
    expect(latencyEstimate(h!, 0)).to.equal(10);
    recordLatency(h!, 100, 0);
    expect(latencyEstimate(h!, 0)).to.equal(100);
    recordLatency(h!, 10, 1000);
    const d = Math.exp(-0.1);
    expect(latencyEstimate(h!, 1000)).to.be.closeTo(100 * d + 10 * (1 - d), 1e-9);
    recordLatency(h!, Number.NaN, 1000);
    recordLatency(h!, -1, 1000);
    expect(latencyEstimate(h!, 1000)).to.be.closeTo(100 * d + 10 * (1 - d), 1e-9);
  });

  it('decays toward 0 while nothing is observed (time constant 10 s)', () => {
    const [h] = testHosts([1]);
    recordLatency(h!, 100, 5000);
    expect(latencyEstimate(h!, 15000)).to.be.closeTo(100 / Math.E, 1e-9);
    expect(latencyEstimate(h!, 4000)).to.equal(100);
  });

  it('property: the estimate stays between 0 and the largest observation', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: 0, max: 1e4, noNaN: true }), fc.nat(5000)), { minLength: 1 }),
        (obs) => {
          const [h] = testHosts([1]);
          let now = 0;
          let max = 0;
          for (const [ms, dt] of obs) {
            now += dt;
            recordLatency(h!, ms, now);
            max = Math.max(max, ms);
            const e = latencyEstimate(h!, now)!;
            expect(e)
              .to.be.at.least(0)
              .and.at.most(max + 1e-9);
          }
        },
      ),
    );
  });
});
