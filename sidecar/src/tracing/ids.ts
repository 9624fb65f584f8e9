// Trace and span ids from a fast non-cryptographic source (Math.random): ids must be unique, not secret.

const ZERO_SPAN = '0000000000000000';

function hex8(): string {
  return ((Math.random() * 0x100000000) >>> 0).toString(16).padStart(8, '0');
}

/** A random non-zero 16-hex-digit span id. */
export function newSpanId(): string {
  const id = hex8() + hex8();
  return id === ZERO_SPAN ? newSpanId() : id;
}

/** A random non-zero 32-hex-digit trace id. */
export function newTraceId(): string {
  const id = hex8() + hex8() + hex8() + hex8();
  return id === ZERO_SPAN + ZERO_SPAN ? newTraceId() : id;
}
