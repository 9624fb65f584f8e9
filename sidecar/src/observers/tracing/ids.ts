// Trace and span ids from a fast non-cryptographic source (Math.random): ids must be unique, not secret.
// Number#toString(16) is slow in V8 (~0.3 µs); a byte-to-hex table makes an id in a few string concatenations.

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

const ZERO_SPAN = '0000000000000000';

/** Eight random hex digits. */
function hex8(): string {
  const x = (Math.random() * 4294967296) >>> 0;
  return (HEX[x >>> 24] as string) + HEX[(x >>> 16) & 255] + HEX[(x >>> 8) & 255] + HEX[x & 255];
}

/** Chosen once per process: the left half of the trace ids this process starts (the right half is random per id). */
const TRACE_PREFIX = hex8() + hex8();

/** A random non-zero 16-hex-digit span id. */
export function newSpanId(): string {
  const id = hex8() + hex8();
  return id === ZERO_SPAN ? newSpanId() : id;
}

/**
 * A 32-hex-digit trace id: a per-process random prefix and 64 random bits on the right (where W3C's ratio samplers
 * look for randomness).
 */
export function newTraceId(): string {
  return TRACE_PREFIX + hex8() + hex8();
}
