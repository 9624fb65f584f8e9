// xxHash64 (Yann Collet's XXH64, the hash Envoy's ring hash, Maglev and hash policies use), in 32-bit limb arithmetic.

// Every 64-bit value is a pair of 32-bit halves (hi, lo), kept as int32 (the bits are what matter). The helpers
// return through the register array R (R[0] = hi, R[1] = lo): typed-array stores of int32 neither allocate nor box,
// where module-level `let` registers holding values ≥ 2^31 would allocate a heap number per store (5× slower).
const R = new Int32Array(2);

const P1H = 0x9e3779b1;
const P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d;
const P2L = 0x27d4eb4f;
const P3H = 0x165667b1;
const P3L = 0x9e3779f9;
const P4H = 0x85ebca77;
const P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f;
const P5L = 0x165667c5;
/** 2^64 − PRIME64_1, so that `seed − P1` is an addition. */
const NP1H = 0x61c8864e;
const NP1L = 0x7a143579;

const TWO32 = 4294967296;

/** R = a + b mod 2^64. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = (al >>> 0) + (bl >>> 0);
  R[1] = lo;
  R[0] = ah + bh + (lo >= TWO32 ? 1 : 0);
}

/**
 * R = a · b mod 2^64: low word by Math.imul, high word = the high 32 bits of al·bl (from 16-bit pieces, every
 * partial product exact in a double) plus the low 32 bits of the cross terms.
 */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  R[1] = Math.imul(al, bl);
  R[0] = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(ah, bl) + Math.imul(al, bh);
}

/** R = rotate-left(x, r) for 0 < r < 32. */
function rotl(h: number, l: number, r: number): void {
  R[0] = (h << r) | (l >>> (32 - r));
  R[1] = (l << r) | (h >>> (32 - r));
}

/** XXH64_round: acc = rotl(acc + input · P2, 31) · P1. */
function round(ah: number, al: number, ih: number, il: number): void {
  mul(ih, il, P2H, P2L);
  add(ah, al, R[0]!, R[1]!);
  rotl(R[0]!, R[1]!, 31);
  mul(R[0]!, R[1]!, P1H, P1L);
}

/** XXH64_mergeRound: acc = (acc ^ round(0, val)) · P1 + P4. */
function mergeRound(ah: number, al: number, vh: number, vl: number): void {
  round(0, 0, vh, vl);
  mul(ah ^ R[0]!, al ^ R[1]!, P1H, P1L);
  add(R[0]!, R[1]!, P4H, P4L);
}

function read32(b: Uint8Array, p: number): number {
  return (b[p] as number) | ((b[p + 1] as number) << 8) | ((b[p + 2] as number) << 16) | ((b[p + 3] as number) << 24);
}

/** XXH64 of `data[0, len)` with the 64-bit seed (seedHi, seedLo); writes [hi, lo] into `out`. */
export function xxh64Bytes(data: Uint8Array, len: number, seedHi: number, seedLo: number, out: Uint32Array): void {
  let p = 0;
  let hh: number;
  let hl: number;
  if (len >= 32) {
    add(seedHi, seedLo, P1H, P1L);
    add(R[0]!, R[1]!, P2H, P2L);
    let v1h = R[0]!;
    let v1l = R[1]!;
    add(seedHi, seedLo, P2H, P2L);
    let v2h = R[0]!;
    let v2l = R[1]!;
    let v3h = seedHi;
    let v3l = seedLo;
    add(seedHi, seedLo, NP1H, NP1L);
    let v4h = R[0]!;
    let v4l = R[1]!;
    for (const limit = len - 32; p <= limit; p += 32) {
      round(v1h, v1l, read32(data, p + 4), read32(data, p));
      v1h = R[0]!;
      v1l = R[1]!;
      round(v2h, v2l, read32(data, p + 12), read32(data, p + 8));
      v2h = R[0]!;
      v2l = R[1]!;
      round(v3h, v3l, read32(data, p + 20), read32(data, p + 16));
      v3h = R[0]!;
      v3l = R[1]!;
      round(v4h, v4l, read32(data, p + 28), read32(data, p + 24));
      v4h = R[0]!;
      v4l = R[1]!;
    }
    rotl(v1h, v1l, 1);
    hh = R[0]!;
    hl = R[1]!;
    rotl(v2h, v2l, 7);
    add(hh, hl, R[0]!, R[1]!);
    hh = R[0]!;
    hl = R[1]!;
    rotl(v3h, v3l, 12);
    add(hh, hl, R[0]!, R[1]!);
    hh = R[0]!;
    hl = R[1]!;
    rotl(v4h, v4l, 18);
    add(hh, hl, R[0]!, R[1]!);
    mergeRound(R[0]!, R[1]!, v1h, v1l);
    mergeRound(R[0]!, R[1]!, v2h, v2l);
    mergeRound(R[0]!, R[1]!, v3h, v3l);
    mergeRound(R[0]!, R[1]!, v4h, v4l);
    hh = R[0]!;
    hl = R[1]!;
  } else {
    add(seedHi, seedLo, P5H, P5L);
    hh = R[0]!;
    hl = R[1]!;
  }
  add(hh, hl, Math.floor(len / TWO32), len >>> 0);
  hh = R[0]!;
  hl = R[1]!;
  for (; p + 8 <= len; p += 8) {
    round(0, 0, read32(data, p + 4), read32(data, p));
    rotl(hh ^ R[0]!, hl ^ R[1]!, 27);
    mul(R[0]!, R[1]!, P1H, P1L);
    add(R[0]!, R[1]!, P4H, P4L);
    hh = R[0]!;
    hl = R[1]!;
  }
  if (p + 4 <= len) {
    mul(0, read32(data, p), P1H, P1L);
    rotl(hh ^ R[0]!, hl ^ R[1]!, 23);
    mul(R[0]!, R[1]!, P2H, P2L);
    add(R[0]!, R[1]!, P3H, P3L);
    hh = R[0]!;
    hl = R[1]!;
    p += 4;
  }
  for (; p < len; p++) {
    mul(0, data[p] as number, P5H, P5L);
    rotl(hh ^ R[0]!, hl ^ R[1]!, 11);
    mul(R[0]!, R[1]!, P1H, P1L);
    hh = R[0]!;
    hl = R[1]!;
  }
  // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
  hl ^= hh >>> 1;
  mul(hh, hl, P2H, P2L);
  hh = R[0]!;
  hl = R[1]!;
  hl ^= (hl >>> 29) | (hh << 3);
  hh ^= hh >>> 29;
  mul(hh, hl, P3H, P3L);
  out[0] = R[0]!;
  out[1] = R[1]! ^ R[0]!;
}

let scratch = new Uint8Array(256);
const encoder = new TextEncoder();

/** XXH64 of a string's UTF-8 bytes (ASCII copied by hand, the rest through TextEncoder); writes [hi, lo]. */
export function xxh64Halves(input: string | Uint8Array, seed: number | bigint, out: Uint32Array): void {
  let seedHi: number;
  let seedLo: number;
  if (typeof seed === 'bigint') {
    seedHi = Number((seed >> 32n) & 0xffffffffn);
    seedLo = Number(seed & 0xffffffffn);
  } else {
    seedHi = Math.floor(seed / TWO32) >>> 0;
    seedLo = seed >>> 0;
  }
  if (typeof input !== 'string') {
    xxh64Bytes(input, input.length, seedHi, seedLo, out);
    return;
  }
  const n = input.length;
  if (n > scratch.length) scratch = new Uint8Array(Math.max(n, scratch.length * 2));
  const buf = scratch;
  for (let i = 0; i < n; i++) {
    const c = input.charCodeAt(i);
    if (c >= 0x80) {
      const bytes = encoder.encode(input);
      xxh64Bytes(bytes, bytes.length, seedHi, seedLo, out);
      return;
    }
    buf[i] = c;
  }
  xxh64Bytes(buf, n, seedHi, seedLo, out);
}

const halves = new Uint32Array(2);

/** XXH64 of `input` (a string is hashed as UTF-8) with `seed` (default 0), as an unsigned 64-bit bigint. */
export function xxh64(input: string | Uint8Array, seed: number | bigint = 0): bigint {
  xxh64Halves(input, seed, halves);
  return (BigInt(halves[0] as number) << 32n) | BigInt(halves[1] as number);
}
