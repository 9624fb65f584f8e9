// X-Request-Id values: UUID-shaped (version 4 layout), unique per process by a counter under a random per-process prefix.
import { randomBytes } from 'node:crypto';

let prefix = '';
let counter = 0;
const COUNTER_SPAN = 0x1000000000000; // 48 bits: the last UUID group

function reseed(): void {
  const r = randomBytes(10).toString('hex');
  // xxxxxxxx-xxxx-4xxx-Vxxx-<counter>: version 4, variant 10xx.
  const variant = ((Number.parseInt(r.charAt(15), 16) & 0x3) | 0x8).toString(16);
  prefix = `${r.slice(0, 8)}-${r.slice(8, 12)}-4${r.slice(12, 15)}-${variant}${r.slice(16, 19)}-`;
  counter = 0;
}

reseed();

/**
 * A new request id. crypto.randomUUID costs a buffered getrandom refill every 128 ids on the hot path; ids only need
 * to be unique, so a random 74-bit prefix (refreshed every 2^48 ids) plus a counter is enough.
 */
export function newRequestId(): string {
  if (counter === COUNTER_SPAN) reseed();
  const n = counter++;
  return prefix + n.toString(16).padStart(12, '0');
}
