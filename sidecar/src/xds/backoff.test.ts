// Backoff: exponential caps with full jitter, the maximum, and reset.
import { expect } from 'chai';
import { Backoff } from './backoff.ts';

describe('Backoff', () => {
  it('doubles the cap from initialMs up to maxMs, jittering below it', () => {
    const caps: number[] = [];
    const b = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0.999999);
    for (let i = 0; i < 6; i++) caps.push(b.next());
    expect(caps).to.deep.equal([99, 199, 399, 799, 999, 999]);
    const low = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0);
    expect(low.next()).to.equal(0);
  });

  it('starts over after reset', () => {
    const b = new Backoff({ initialMs: 10, maxMs: 1000 }, () => 0.5);
    b.next();
    b.next();
    b.reset();
    expect(b.attempt).to.equal(0);
    expect(b.next()).to.equal(5);
  });

  it('rejects nonsense options', () => {
    expect(() => new Backoff({ initialMs: 0, maxMs: 10 })).to.throw(/initialMs/);
    expect(() => new Backoff({ initialMs: 100, maxMs: 10 })).to.throw(/initialMs/);
  });
});
