// The trace context a request carries between hops: ids, the sampling decision, W3C tracestate, which header style.

/** The B3 style the request carries, if any ('w3c': only W3C): B3 headers are kept consistent for the next hop. */
export type PropagationFormat = 'w3c' | 'b3-single' | 'b3-multi';

export interface SpanContext {
  /** 32 lower-case hex digits (64-bit B3 ids are left-padded with zeros). */
  readonly traceId: string;
  /** 16 lower-case hex digits. */
  readonly spanId: string;
  /** The upstream decision: true / false, or undefined when the sender deferred it (B3 without a sampling state). */
  readonly sampled: boolean | undefined;
  /** The W3C tracestate, passed on unchanged ('' when none). */
  readonly traceState: string;
  readonly format: PropagationFormat;
}
