// The sampling decision: a parent decides, else the ratio; ids come from a fast non-crypto source.
import { expect } from 'chai';
import { newSpanId, newTraceId } from './ids.ts';
import { ratioOf, shouldSample } from './sampler.ts';
import type { SpanContext } from './span-context.ts';

const parent = (sampled: boolean | undefined): SpanContext => ({
  traceId: 'a'.repeat(32),
  spanId: 'b'.repeat(16),
  sampled,
  traceState: '',
  format: 'w3c',
});

describe('tracing sampler', () => {
  it('follows a parent that decided, whatever the ratio', () => {
    expect(shouldSample(parent(true), 0)).to.equal(true);
    expect(shouldSample(parent(false), 1)).to.equal(false);
  });

  it('samples roots and deferred parents by the ratio', () => {
    expect(shouldSample(undefined, 1)).to.equal(true);
    expect(shouldSample(undefined, 0)).to.equal(false);
    expect(shouldSample(parent(undefined), 0.5, () => 0.4)).to.equal(true);
    expect(shouldSample(parent(undefined), 0.5, () => 0.6)).to.equal(false);
    let sampled = 0;
    for (let i = 0; i < 20_000; i++) if (shouldSample(undefined, 0.1)) sampled++;
    expect(sampled).to.be.within(1600, 2400);
  });

  it('turns percentages into clamped ratios', () => {
    expect(ratioOf(100)).to.equal(1);
    expect(ratioOf(150)).to.equal(1);
    expect(ratioOf(1)).to.equal(0.01);
    expect(ratioOf(0)).to.equal(0);
    expect(ratioOf(Number.NaN)).to.equal(0);
  });

  it('makes well-formed, distinct ids', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const t = newTraceId();
      const s = newSpanId();
      expect(t).to.match(/^[0-9a-f]{32}$/);
      expect(s).to.match(/^[0-9a-f]{16}$/);
      seen.add(t);
    }
    expect(seen.size).to.equal(1000);
  });
});
