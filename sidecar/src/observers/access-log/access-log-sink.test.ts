// Access log sampling (runtime_filter percent) and status filters.
import { expect } from 'chai';
import { type AccessLogSink, sampleSinks, statusPasses } from './access-log-sink.ts';

function sink(sampled: number): AccessLogSink {
  return { format: () => '', out: { write: () => undefined }, sampled, statusFilter: undefined };
}

/** A deterministic generator (mulberry32) so the sampled share is reproducible. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('access log sampling and filters', () => {
  it('100% always logs and 0% never, without drawing', () => {
    const never = () => {
      throw new Error('no draw expected');
    };
    expect(sampleSinks([sink(1), sink(0)], never)).to.equal(0b01);
    expect(sampleSinks([sink(0), sink(1), sink(1)], never)).to.equal(0b110);
  });

  it('a percentage samples about that share of requests, each sink on its own draw', () => {
    const random = seeded(42);
    const sinks = [sink(0.25), sink(0.5)];
    const counts = [0, 0];
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const mask = sampleSinks(sinks, random);
      if (mask & 1) counts[0] = (counts[0] ?? 0) + 1;
      if (mask & 2) counts[1] = (counts[1] ?? 0) + 1;
    }
    expect(counts[0]! / n).to.be.closeTo(0.25, 0.015);
    expect(counts[1]! / n).to.be.closeTo(0.5, 0.015);
  });

  it('status_code_filter comparisons', () => {
    expect(statusPasses(undefined, 200)).to.equal(true);
    expect(statusPasses({ op: 'GE', value: 500 }, 503)).to.equal(true);
    expect(statusPasses({ op: 'GE', value: 500 }, 404)).to.equal(false);
    expect(statusPasses({ op: 'LE', value: 299 }, 200)).to.equal(true);
    expect(statusPasses({ op: 'LE', value: 299 }, 300)).to.equal(false);
    expect(statusPasses({ op: 'EQ', value: 404 }, 404)).to.equal(true);
    expect(statusPasses({ op: 'EQ', value: 404 }, 403)).to.equal(false);
  });
});
