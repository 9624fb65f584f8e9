// Duration strings: accepted forms and rejected ones.
import { expect } from 'chai';
import { parseDuration } from './duration.ts';

describe('parseDuration', () => {
  it('parses units and sums parts', () => {
    expect(parseDuration('2s')).to.equal(2000);
    expect(parseDuration('500ms')).to.equal(500);
    expect(parseDuration('1m30s')).to.equal(90_000);
    expect(parseDuration('1.5s')).to.equal(1500);
    expect(parseDuration('0s')).to.equal(0);
  });
  it('rejects numbers without unit, negatives and junk', () => {
    for (const bad of ['', '2', '-1s', 's', '2 s', 'abc', '1sx']) expect(parseDuration(bad), bad).to.equal(undefined);
  });
});
