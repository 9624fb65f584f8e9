// xxHash64: published test vectors, and a property test against a straightforward BigInt transcription of the spec.
import { expect } from 'chai';
import fc from 'fast-check';
import { xxh64 } from './xxhash64.ts';

const M = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;
const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M;
const round = (acc: bigint, input: bigint): bigint => (rotl((acc + input * P2) & M, 31n) * P1) & M;
const merge = (acc: bigint, v: bigint): bigint => (((acc ^ round(0n, v)) * P1) & M) + (P4 & M);

/** The XXH64 spec, transcribed with BigInt and no cleverness. */
function reference(data: Uint8Array, seed: bigint): bigint {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const len = data.length;
  let p = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = (seed + P1 + P2) & M;
    let v2 = (seed + P2) & M;
    let v3 = seed;
    let v4 = (seed - P1) & M;
    for (; p + 32 <= len; p += 32) {
      v1 = round(v1, view.getBigUint64(p, true));
      v2 = round(v2, view.getBigUint64(p + 8, true));
      v3 = round(v3, view.getBigUint64(p + 16, true));
      v4 = round(v4, view.getBigUint64(p + 24, true));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    for (const v of [v1, v2, v3, v4]) h = merge(h, v) & M;
  } else {
    h = (seed + P5) & M;
  }
  h = (h + BigInt(len)) & M;
  for (; p + 8 <= len; p += 8) {
    h ^= round(0n, view.getBigUint64(p, true));
    h = (rotl(h, 27n) * P1 + P4) & M;
  }
  if (p + 4 <= len) {
    h ^= (BigInt(view.getUint32(p, true)) * P1) & M;
    h = (rotl(h, 23n) * P2 + P3) & M;
    p += 4;
  }
  for (; p < len; p++) {
    h ^= (BigInt(data[p] as number) * P5) & M;
    h = (rotl(h, 11n) * P1) & M;
  }
  h ^= h >> 33n;
  h = (h * P2) & M;
  h ^= h >> 29n;
  h = (h * P3) & M;
  h ^= h >> 32n;
  return h;
}

describe('xxh64', () => {
  it('matches the published vectors', () => {
    expect(xxh64('')).to.equal(0xef46db3751d8e999n);
    expect(xxh64('a')).to.equal(0xd24ec4f1a98c6e5bn);
    expect(xxh64('abc')).to.equal(0x44bc2cf5ad770999n);
    // python-xxhash's README examples: a 39-byte input (one 32-byte stripe + tail) and a seeded one.
    expect(xxh64('Nobody inspects the spammish repetition')).to.equal(0xfbcea83c8a378bf1n);
    expect(xxh64('xxhash')).to.equal(0x32dd38952c4bc720n);
    expect(xxh64('xxhash', 20141025)).to.equal(0xb559b98d844e0635n);
  });

  it('hashes strings as UTF-8, like the same bytes', () => {
    const s = 'zoë-ünïcödé-🙂';
    expect(xxh64(s)).to.equal(xxh64(new TextEncoder().encode(s)));
    expect(xxh64('x'.repeat(1000))).to.equal(reference(new TextEncoder().encode('x'.repeat(1000)), 0n));
  });

  it('property: equals the BigInt transcription of the spec for any bytes and seed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.bigInt({ min: 0n, max: M }), (bytes, seed) => {
        expect(xxh64(bytes, seed)).to.equal(reference(bytes, seed));
      }),
      { numRuns: 500 },
    );
  });

  it('property: number seeds are the same 64-bit seeds as bigints', () => {
    fc.assert(
      fc.property(fc.string(), fc.nat({ max: Number.MAX_SAFE_INTEGER }), (s, seed) => {
        expect(xxh64(s, seed)).to.equal(xxh64(s, BigInt(seed)));
      }),
    );
  });
});
