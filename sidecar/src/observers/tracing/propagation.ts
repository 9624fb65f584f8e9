// Reads the incoming trace context from a header list (W3C first, then B3) and writes the next hop's headers.
import { type HeaderList, headerRemove, headerSet } from '../../http/message/header-list.ts';
import { formatB3Single, parseB3Multi, parseB3Single } from './b3.ts';
import type { PropagationFormat, SpanContext } from './span-context.ts';
import { formatTraceparent, parseTraceparent } from './traceparent.ts';

/**
 * The trace context of a request, from one pass over its headers: a valid `traceparent` (with `tracestate`) wins,
 * then `b3`, then `x-b3-*`. Malformed headers are ignored (undefined: the request starts a new trace). The format
 * says which B3 style the request also carries ('w3c': none), so the next hop gets the same ids in both.
 */
export function extractContext(headers: HeaderList): SpanContext | undefined {
  let traceparent: string | undefined;
  let traceparents = 0;
  let tracestate: string | undefined;
  let b3: string | undefined;
  let b3TraceId: string | undefined;
  let b3SpanId: string | undefined;
  let b3Sampled: string | undefined;
  let b3Flags: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    const c = name.charCodeAt(0);
    if (c === 116 /* t */) {
      if (name === 'traceparent') {
        traceparent = headers[i + 1] as string;
        traceparents++;
      } else if (name === 'tracestate') {
        const v = headers[i + 1] as string;
        tracestate = tracestate === undefined ? v : tracestate + ',' + v;
      }
    } else if (c === 98 /* b */) {
      if (name === 'b3') b3 = headers[i + 1] as string;
    } else if (c === 120 /* x */ && name.length > 5 && name.startsWith('x-b3-')) {
      if (name === 'x-b3-traceid') b3TraceId = headers[i + 1] as string;
      else if (name === 'x-b3-spanid') b3SpanId = headers[i + 1] as string;
      else if (name === 'x-b3-sampled') b3Sampled = headers[i + 1] as string;
      else if (name === 'x-b3-flags') b3Flags = headers[i + 1] as string;
    }
  }
  if (traceparent !== undefined && traceparents === 1) {
    const ctx = parseTraceparent(traceparent, tracestate?.trim() ?? '');
    // B3 headers beside it are kept in step with the W3C ids for the next hop.
    if (ctx !== undefined && b3 !== undefined) return { ...ctx, format: 'b3-single' };
    if (ctx !== undefined && b3TraceId !== undefined) return { ...ctx, format: 'b3-multi' };
    if (ctx !== undefined) return ctx;
  }
  if (b3 !== undefined) {
    const ctx = parseB3Single(b3);
    if (ctx !== undefined) return ctx;
  }
  if (b3TraceId !== undefined || b3SpanId !== undefined || b3Sampled !== undefined || b3Flags !== undefined)
    return parseB3Multi(b3TraceId, b3SpanId, b3Sampled, b3Flags);
  return undefined;
}

/**
 * Sets the next hop's context on a header list: `traceparent` always (an incoming `tracestate` stays as it was), and
 * for a B3 request the same ids in its B3 style. `parentSpanId` ('' for none) is the B3 parent of `spanId`.
 */
export function injectContext(
  headers: HeaderList,
  format: PropagationFormat | undefined,
  traceId: string,
  spanId: string,
  sampled: boolean,
  parentSpanId: string,
): void {
  headerSet(headers, 'traceparent', formatTraceparent(traceId, spanId, sampled));
  if (format === 'b3-single') {
    headerSet(headers, 'b3', formatB3Single(traceId, spanId, sampled, parentSpanId));
  } else if (format === 'b3-multi') {
    headerSet(headers, 'x-b3-traceid', traceId);
    headerSet(headers, 'x-b3-spanid', spanId);
    headerSet(headers, 'x-b3-sampled', sampled ? '1' : '0');
    if (parentSpanId === '') headerRemove(headers, 'x-b3-parentspanid');
    else headerSet(headers, 'x-b3-parentspanid', parentSpanId);
  }
}
