// The cache store: byte-bounded LRU eviction, variants replaced by Vary values, fills and their waiters.
import { expect } from 'chai';
import CachePolicy from 'http-cache-semantics';
import { type CachedResponse, ResponseStore } from './response-store.ts';

const policy = new CachePolicy({ url: '/', headers: {} }, { status: 200, headers: { 'cache-control': 'max-age=60' } });

function entry(key: string, bytes: number, vary: [string, string][] = []): CachedResponse {
  const fresh = { headers: [], until: 0, age: 0, since: 0 };
  return {
    key,
    policy,
    fresh,
    status: 200,
    body: Buffer.alloc(0),
    validators: false,
    varyValues: new Map(vary),
    bytes,
  };
}

describe('ResponseStore', () => {
  it('evicts the least recently used entries to stay within its bytes', () => {
    const store = new ResponseStore(1000);
    const a = entry('a', 400);
    store.put(a);
    store.put(entry('b', 400));
    store.touch(a);
    store.put(entry('c', 400));
    expect(store.variants('b')).to.have.length(0);
    expect(store.variants('a')).to.have.length(1);
    expect(store.bytes).to.equal(800);
    expect(store.evicted).to.equal(1);
    expect(store.put(entry('huge', 1001))).to.equal(false);
  });

  it('keeps one entry per Vary value of a key, the newest first', () => {
    const store = new ResponseStore(10_000);
    store.put(entry('k', 10, [['accept-language', 'en']]));
    store.put(entry('k', 10, [['accept-language', 'fr']]));
    const newer = entry('k', 20, [['accept-language', 'en']]);
    store.put(newer);
    expect(store.variants('k')).to.have.length(2);
    expect(store.variants('k')[0]).to.equal(newer);
    expect(store.bytes).to.equal(30);
    expect(store.invalidate('k')).to.equal(2);
    expect(store.bytes).to.equal(0);
    expect(store.entries).to.equal(0);
  });

  it('one fill per key; waiters are bounded, can leave, and hear when it ends', () => {
    const store = new ResponseStore(1000);
    const heard: string[] = [];
    const waiter = (name: string) => ({ fillEnded: () => heard.push(name) });
    expect(store.wait('k', waiter('early'), 10)).to.equal(false);
    expect(store.beginFill('k')).to.equal(true);
    expect(store.beginFill('k')).to.equal(false);
    const leaving = waiter('leaving');
    expect(store.wait('k', waiter('one'), 2)).to.equal(true);
    expect(store.wait('k', leaving, 2)).to.equal(true);
    expect(store.wait('k', waiter('three'), 2)).to.equal(false);
    store.unwait('k', leaving);
    store.endFill('k');
    expect(heard).to.deep.equal(['one']);
    expect(store.filling('k')).to.equal(false);
  });
});
