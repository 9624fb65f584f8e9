// ByteLru: recency order, the byte bound, re-set accounting and idle expiry on an injected clock.
import { expect } from 'chai';
import { ByteLru } from './byte-lru.ts';

describe('ByteLru', () => {
  let now = 0;
  const lru = (max: number): ByteLru<string> =>
    new ByteLru<string>(
      max,
      (k, v) => k.length + v.length,
      () => now,
    );

  beforeEach(() => {
    now = 0;
  });

  it('drops the least recently used entries past its bound; a read makes an entry recent', () => {
    const c = lru(6);
    c.set('a', 'xx');
    c.set('b', 'xx');
    expect(c.get('a')).to.equal('xx');
    c.set('c', 'xx');
    expect(c.get('b')).to.equal(undefined);
    expect(c.get('a')).to.equal('xx');
    expect(c.bytes).to.equal(6);
  });

  it('counts a key set twice once', () => {
    const c = lru(100);
    c.set('a', 'xx');
    c.set('a', 'xxxx');
    expect(c.entries).to.equal(1);
    expect(c.bytes).to.equal(5);
  });

  it('expires the entries not used for the idle time, and only those', () => {
    const c = lru(100);
    c.set('old', 'v');
    c.set('read', 'v');
    now = 10;
    c.set('new', 'v');
    expect(c.get('read')).to.equal('v');
    now = 15;
    expect(c.expire(10)).to.equal(1);
    expect(c.get('old')).to.equal(undefined);
    expect(c.get('read')).to.equal('v');
    expect(c.get('new')).to.equal('v');
    expect(c.bytes).to.equal(4 + 3 + 1 + 1);
    now = 100;
    expect(c.expire(10)).to.equal(2);
    expect(c.entries).to.equal(0);
    expect(c.bytes).to.equal(0);
  });
});
