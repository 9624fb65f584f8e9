// W3C Trace Context: parsing and formatting the `traceparent` header (version 00 and forward-compatible versions).
import type { SpanContext } from './span-context.ts';

const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_SPAN = '0000000000000000';

/** True when every char of s in [from, to) is a lower-case hex digit. */
export function isLowerHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/**
 * Parses `version-traceid-spanid-flags`; undefined for anything malformed (wrong lengths, upper-case or non-hex
 * digits, all-zero ids, version ff, extra fields on version 00), so a bad header starts a new trace.
 */
export function parseTraceparent(value: string, traceState = ''): SpanContext | undefined {
  const v = value.trim();
  if (v.length < 55) return undefined;
  if (v.charCodeAt(2) !== 45 || v.charCodeAt(35) !== 45 || v.charCodeAt(52) !== 45) return undefined;
  if (!isLowerHex(v, 0, 2) || !isLowerHex(v, 3, 35) || !isLowerHex(v, 36, 52) || !isLowerHex(v, 53, 55))
    return undefined;
  const version = v.slice(0, 2);
  if (version === 'ff') return undefined;
  // Version 00 is exactly 55 chars; later versions may append '-…' fields, which we ignore.
  if (v.length > 55 && (version === '00' || v.charCodeAt(55) !== 45)) return undefined;
  const traceId = v.slice(3, 35);
  const spanId = v.slice(36, 52);
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  const flags = Number.parseInt(v.slice(53, 55), 16);
  return { traceId, spanId, sampled: (flags & 1) === 1, traceState, format: 'w3c' };
}

/** `00-<traceId>-<spanId>-01|00` */
export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return '00-' + traceId + '-' + spanId + (sampled ? '-01' : '-00');
}
