// Decodes the HTTP connection manager's connection and stream limits (Envoy field names), with safe defaults.
import { at, durationMs, fail, type Obj, optObj, wrappedNum } from './decode-values.ts';
import type { HttpLimits } from './model.ts';

/**
 * What the sidecar applies where the HCM leaves a limit unset. Envoy leaves request_headers_timeout off and allows
 * 2^31 streams with 256 MiB windows; its edge guidance (and nginx) bound them, and a sidecar faces hostile peers too.
 */
export const HTTP_LIMIT_DEFAULTS: Readonly<HttpLimits> = {
  requestHeadersTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  maxRequestsPerConnection: 0,
  maxConcurrentStreams: 100,
  initialStreamWindowSize: 65_535,
  initialConnectionWindowSize: 1024 * 1024,
};

/** RFC 9113 §6.5.2 / §6.9.1: windows are 31-bit, and Envoy refuses stream windows below the protocol default. */
const MIN_WINDOW = 65_535;
const MAX_WINDOW = 2 ** 31 - 1;

function window(v: unknown, path: string, fallback: number): number {
  const n = wrappedNum(v, path, fallback);
  if (!Number.isInteger(n) || n < MIN_WINDOW || n > MAX_WINDOW)
    fail(path, `expected an integer from ${MIN_WINDOW} to ${MAX_WINDOW}, got ${n}`);
  return n;
}

function count(v: unknown, path: string, fallback: number, min: number): number {
  const n = wrappedNum(v, path, fallback);
  if (!Number.isInteger(n) || n < min || n > MAX_WINDOW)
    fail(path, `expected an integer from ${min} to ${MAX_WINDOW}, got ${n}`);
  return n;
}

/**
 * `request_headers_timeout`, `common_http_protocol_options.{idle_timeout, max_requests_per_connection}` and
 * `http2_protocol_options.{max_concurrent_streams, initial_stream_window_size, initial_connection_window_size}`.
 */
export function httpLimits(o: Obj, path: string): HttpLimits {
  const d = HTTP_LIMIT_DEFAULTS;
  const cpath = at(path, 'common_http_protocol_options');
  const common = optObj(o['common_http_protocol_options'], cpath) ?? {};
  const h2path = at(path, 'http2_protocol_options');
  const h2 = optObj(o['http2_protocol_options'], h2path) ?? {};
  return {
    requestHeadersTimeoutMs: durationMs(
      o['request_headers_timeout'],
      at(path, 'request_headers_timeout'),
      d.requestHeadersTimeoutMs,
    ),
    idleTimeoutMs: durationMs(common['idle_timeout'], at(cpath, 'idle_timeout'), d.idleTimeoutMs),
    maxRequestsPerConnection: count(
      common['max_requests_per_connection'],
      at(cpath, 'max_requests_per_connection'),
      d.maxRequestsPerConnection,
      0,
    ),
    maxConcurrentStreams: count(
      h2['max_concurrent_streams'],
      at(h2path, 'max_concurrent_streams'),
      d.maxConcurrentStreams,
      1,
    ),
    initialStreamWindowSize: window(
      h2['initial_stream_window_size'],
      at(h2path, 'initial_stream_window_size'),
      d.initialStreamWindowSize,
    ),
    initialConnectionWindowSize: window(
      h2['initial_connection_window_size'],
      at(h2path, 'initial_connection_window_size'),
      d.initialConnectionWindowSize,
    ),
  };
}
