// Trace context a demo app copies from the request it serves onto its outbound calls (as every real app must).
import type { IncomingHttpHeaders } from 'node:http';

/** W3C trace context, B3 and the request id the sidecars generate and log. */
export const PROPAGATED = [
  'traceparent',
  'tracestate',
  'x-request-id',
  'b3',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-sampled',
];

/** The propagated headers present on an incoming request. */
export function traceHeaders(incoming: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PROPAGATED) {
    const value = incoming[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}
