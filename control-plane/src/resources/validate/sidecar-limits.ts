// Validates a Service's `sidecar` connection and stream limits (timeouts, counts, HTTP/2 streams and windows, open
// connections) against the ranges the sidecar's decoder and Envoy accept, so an applied value is never NACKed.
import { parseDuration } from '../duration.ts';
import { field, type Issues } from './issues.ts';

/** The largest HTTP/2 window or stream count (RFC 9113: 31 bits); counts share it. */
export const INT31_MAX = 2 ** 31 - 1;
/** The longest timeout: a Node timer cannot wait past 2^31-1 ms (it would fire at once), and 596 h is just below. */
export const MAX_TIMEOUT_HOURS = 596;
const MAX_TIMEOUT_MS = MAX_TIMEOUT_HOURS * 3_600_000;

const TIMEOUTS = ['requestHeadersTimeout', 'requestTimeout', 'streamIdleTimeout', 'idleTimeout'] as const;

interface Range {
  min: number;
  max: number;
  /** What the minimum means, when it means something special (0 = unlimited). */
  minMeans?: string;
}

/** The integer limits at the top of `sidecar`, with Envoy's / the sidecar decoder's bounds. */
const COUNTS: Readonly<Record<string, Range>> = {
  maxRequestsPerConnection: { min: 0, max: INT31_MAX, minMeans: 'unlimited' },
  /** Envoy: 0 < max_request_headers_kb <= 8192. */
  maxRequestHeadersKb: { min: 1, max: 8192 },
  maxHeadersCount: { min: 1, max: INT31_MAX },
  /** Envoy's connection_limit: max_connections >= 1. */
  maxConnections: { min: 1, max: INT31_MAX },
  /** Envoy's network local_ratelimit token bucket (UInt32 tokens). */
  maxConnectionsPerSecond: { min: 1, max: 2 ** 32 - 1 },
  /** Listener per_connection_buffer_limit_bytes (UInt32Value); 0 streams request bodies at once. */
  perConnectionBufferLimitBytes: { min: 0, max: 2 ** 32 - 1, minMeans: 'bodies stream at once' },
};

/** `sidecar.http2`: RFC 9113 §6.5.2 / §6.9.1 windows (Envoy refuses stream windows below 65535). */
const HTTP2_COUNTS: Readonly<Record<string, Range>> = {
  maxConcurrentStreams: { min: 1, max: INT31_MAX },
  initialStreamWindowSize: { min: 65_535, max: INT31_MAX },
  initialConnectionWindowSize: { min: 65_535, max: INT31_MAX },
};

/** The limit fields `sidecar` accepts besides its header and path options. */
export const SIDECAR_LIMIT_FIELDS: readonly string[] = [...TIMEOUTS, ...Object.keys(COUNTS), 'http2'];

function timeout(value: unknown, path: string, issues: Issues): void {
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms !== undefined && ms <= MAX_TIMEOUT_MS) return;
  issues.expected(path, `a duration from 0s (off) to ${MAX_TIMEOUT_HOURS}h such as "10s" or "500ms"`, value);
}

function count(value: unknown, path: string, range: Range, issues: Issues): void {
  if (typeof value === 'number' && Number.isInteger(value) && value >= range.min && value <= range.max) return;
  const min = range.minMeans === undefined ? String(range.min) : `${range.min} (${range.minMeans})`;
  issues.expected(path, `an integer from ${min} to ${range.max}`, value);
}

function counts(o: Record<string, unknown>, path: string, ranges: Readonly<Record<string, Range>>, issues: Issues) {
  for (const [key, range] of Object.entries(ranges)) {
    if (o[key] !== undefined) count(o[key], field(path, key), range, issues);
  }
}

/** Checks the limit fields of the `sidecar` mapping `o` at `path` (other fields are left to the caller). */
export function validateSidecarLimits(o: Record<string, unknown>, path: string, issues: Issues): void {
  for (const key of TIMEOUTS) if (o[key] !== undefined) timeout(o[key], field(path, key), issues);
  counts(o, path, COUNTS, issues);
  if (o['http2'] === undefined) return;
  const h2path = field(path, 'http2');
  const h2 = issues.object(o['http2'], h2path, Object.keys(HTTP2_COUNTS));
  if (h2) counts(h2, h2path, HTTP2_COUNTS, issues);
}
