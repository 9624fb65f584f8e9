// The token bucket on an injected clock: starts full, refills whole intervals only, never above its maximum.
import { expect } from 'chai';
import { TokenBucket } from './token-bucket.ts';

describe('TokenBucket', () => {
  it('starts full, refuses once spent, and refills tokens_per_fill per whole fill interval up to max_tokens', () => {
    let now = 1000;
    const b = new TokenBucket({ maxTokens: 3, tokensPerFill: 2, fillIntervalMs: 100 }, () => now);
    expect([b.consume(), b.consume(), b.consume(), b.consume()]).to.deep.equal([true, true, true, false]);
    expect(b.msToFill).to.equal(100);
    now += 99;
    expect(b.consume(), 'not a whole interval yet').to.equal(false);
    expect(b.msToFill).to.equal(1);
    now += 1;
    expect(b.remaining).to.equal(2);
    now += 1000;
    expect(b.remaining, 'capped at max_tokens').to.equal(3);
    // The interval keeps its phase: 1000 ms later the next fill is due 100 ms after the last whole interval.
    expect(b.msToFill).to.equal(100);
  });
});
