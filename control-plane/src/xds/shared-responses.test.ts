// SharedResponses: one encoding per key with a nonce of its own, least recently used entries go past the budget.
import { expect } from 'chai';
import { SharedResponses } from './shared-responses.ts';

describe('SharedResponses', () => {
  it('encodes a key once and hands every stream the same bytes and nonce', () => {
    const shared = new SharedResponses();
    let encodes = 0;
    const encode = (nonce: string): Buffer => {
      encodes += 1;
      return Buffer.from(`payload/${nonce}`);
    };
    const a = shared.get('k', encode);
    const b = shared.get('k', encode);
    expect(encodes).to.equal(1);
    expect(b).to.equal(a);
    expect(a.encoded.toString()).to.equal(`payload/${a.nonce}`);
  });

  it('gives every distinct response a nonce never used before', () => {
    const shared = new SharedResponses(10);
    const nonces = new Set<string>();
    for (let i = 0; i < 50; i++) nonces.add(shared.get(`k${i % 7}-${i}`, () => Buffer.alloc(4)).nonce);
    expect(nonces.size).to.equal(50);
  });

  it('keeps at most its budget of bytes, dropping the least recently used first', () => {
    // Each entry counts its 4 bytes and its 1-character key.
    const shared = new SharedResponses(10);
    shared.get('a', () => Buffer.alloc(4));
    shared.get('b', () => Buffer.alloc(4));
    shared.get('a', () => Buffer.alloc(4));
    shared.get('c', () => Buffer.alloc(4));
    expect(shared.size).to.deep.equal({ entries: 2, bytes: 10 });
    let again = 0;
    shared.get('a', () => {
      again += 1;
      return Buffer.alloc(4);
    });
    expect(again, 'a was used more recently than b').to.equal(0);
    shared.get('b', () => {
      again += 1;
      return Buffer.alloc(4);
    });
    expect(again, 'b was dropped').to.equal(1);
  });

  it('does not keep a response bigger than the whole budget', () => {
    const shared = new SharedResponses(10);
    const big = shared.get('big', () => Buffer.alloc(8));
    expect(big.encoded.length, '8 bytes and a 3-character key').to.equal(8);
    expect(shared.size).to.deep.equal({ entries: 0, bytes: 0 });
  });

  it('encodes anew rather than hand a stream the nonce it was just sent', () => {
    const shared = new SharedResponses();
    const first = shared.get('k', (n) => Buffer.from(n));
    const again = shared.get('k', (n) => Buffer.from(n), first.nonce);
    expect(again.nonce).to.not.equal(first.nonce);
    expect(again.encoded.toString()).to.equal(again.nonce);
    expect(
      shared.get('k', (n) => Buffer.from(n)),
      'the cached one stays for others',
    ).to.equal(first);
  });
});
