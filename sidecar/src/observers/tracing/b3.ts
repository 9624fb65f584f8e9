// Zipkin B3 propagation: the single `b3` header and the multi `x-b3-*` headers, parsed into and written from a context.
import type { SpanContext } from './span-context.ts';
import { isLowerHex } from './traceparent.ts';

const PAD = '0000000000000000';

/** A 16- or 32-hex-digit B3 trace id as 32 digits (undefined when malformed or zero). */
function traceIdOf(id: string): string | undefined {
  if ((id.length !== 16 && id.length !== 32) || !isLowerHex(id, 0, id.length)) return undefined;
  const full = id.length === 16 ? PAD + id : id;
  return full === PAD + PAD ? undefined : full;
}

function spanIdOf(id: string): string | undefined {
  return id.length === 16 && isLowerHex(id, 0, 16) && id !== PAD ? id : undefined;
}

/** '1', 'd' (debug) → sampled, '0' → not, '' → deferred; anything else is malformed (null). */
function samplingOf(state: string): boolean | undefined | null {
  if (state === '1' || state === 'd' || state === 'true') return true;
  if (state === '0' || state === 'false') return false;
  if (state === '') return undefined;
  return null;
}

/**
 * `b3: {traceId}-{spanId}[-{sampling}[-{parentSpanId}]]` or a bare sampling state (`0`, `1`, `d`). A bare state
 * yields a context with empty ids: a decision only.
 */
export function parseB3Single(value: string): SpanContext | undefined {
  const v = value.trim().toLowerCase();
  const parts = v.split('-');
  if (parts.length === 1) {
    const sampled = samplingOf(v);
    if (sampled === null || sampled === undefined) return undefined;
    return { traceId: '', spanId: '', sampled, traceState: '', format: 'b3-single' };
  }
  if (parts.length > 4) return undefined;
  const traceId = traceIdOf(parts[0] as string);
  const spanId = spanIdOf(parts[1] as string);
  if (traceId === undefined || spanId === undefined) return undefined;
  const sampled = parts.length >= 3 ? samplingOf(parts[2] as string) : undefined;
  if (sampled === null) return undefined;
  if (parts.length === 4 && spanIdOf(parts[3] as string) === undefined) return undefined;
  return { traceId, spanId, sampled, traceState: '', format: 'b3-single' };
}

/** The multi-header form; `x-b3-flags: 1` (debug) means sampled. Undefined when absent or malformed. */
export function parseB3Multi(
  traceIdHeader: string | undefined,
  spanIdHeader: string | undefined,
  sampledHeader: string | undefined,
  flagsHeader: string | undefined,
): SpanContext | undefined {
  let sampled: boolean | undefined | null =
    sampledHeader === undefined ? undefined : samplingOf(sampledHeader.trim().toLowerCase());
  if (sampled === null) sampled = undefined;
  if (flagsHeader?.trim() === '1') sampled = true;
  if (traceIdHeader === undefined && spanIdHeader === undefined) {
    return sampled === undefined ? undefined : { traceId: '', spanId: '', sampled, traceState: '', format: 'b3-multi' };
  }
  if (traceIdHeader === undefined || spanIdHeader === undefined) return undefined;
  const traceId = traceIdOf(traceIdHeader.trim().toLowerCase());
  const spanId = spanIdOf(spanIdHeader.trim().toLowerCase());
  if (traceId === undefined || spanId === undefined) return undefined;
  return { traceId, spanId, sampled, traceState: '', format: 'b3-multi' };
}

/** `{traceId}-{spanId}-{1|0}[-{parentSpanId}]` */
export function formatB3Single(traceId: string, spanId: string, sampled: boolean, parentSpanId: string): string {
  const head = traceId + '-' + spanId + (sampled ? '-1' : '-0');
  return parentSpanId === '' ? head : head + '-' + parentSpanId;
}
