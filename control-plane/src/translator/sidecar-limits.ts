// A Service's `sidecar` connection and stream limits in xDS for its sidecar's socket listeners: HttpConnectionManager
// fields and a connection_limit network filter. A limit left unset emits nothing: the sidecar's own defaults apply
// (sidecar/src/config/decode-http-limits.ts, its --max-connections). Never sent to proxyless api_listeners.
import { duration, EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import type { SidecarOptions } from '../resources/types.ts';
import { compact, durationOf, u32 } from './proto-values.ts';

export const CONNECTION_LIMIT_TYPE_URL =
  'type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit';
export const CONNECTION_LIMIT_FILTER = 'envoy.filters.network.connection_limit';
export const CONNECTION_RATE_LIMIT_FILTER = 'envoy.filters.network.local_ratelimit';

function wrapped(value: number | undefined): { value: number } | undefined {
  return value === undefined ? undefined : u32(value);
}

/** An object with at least one field, else undefined (an empty message would say nothing but still be sent). */
function nonEmpty(fields: Record<string, unknown>): Record<string, unknown> | undefined {
  return Object.keys(fields).length > 0 ? fields : undefined;
}

/**
 * The HCM fields the options set: `request_headers_timeout`, `request_timeout`, `stream_idle_timeout`,
 * `max_request_headers_kb`, `common_http_protocol_options` and `http2_protocol_options`, the latter over `http2Base`
 * (the listener's own HTTP/2 settings, e.g. outbound `allow_connect`).
 */
export function hcmLimitFields(
  options: SidecarOptions | undefined,
  http2Base: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  const common = compact({
    idle_timeout: durationOf(options?.idleTimeout),
    max_headers_count: wrapped(options?.maxHeadersCount),
    max_requests_per_connection: wrapped(options?.maxRequestsPerConnection),
  });
  const h2 = options?.http2;
  const http2 = compact({
    ...http2Base,
    max_concurrent_streams: wrapped(h2?.maxConcurrentStreams),
    initial_stream_window_size: wrapped(h2?.initialStreamWindowSize),
    initial_connection_window_size: wrapped(h2?.initialConnectionWindowSize),
  });
  return compact({
    request_headers_timeout: durationOf(options?.requestHeadersTimeout),
    request_timeout: durationOf(options?.requestTimeout),
    stream_idle_timeout: durationOf(options?.streamIdleTimeout),
    max_request_headers_kb: wrapped(options?.maxRequestHeadersKb),
    common_http_protocol_options: nonEmpty(common),
    http2_protocol_options: nonEmpty(http2),
  });
}

/**
 * The network filters that go before a listener's terminal filter: Envoy's connection_limit (`max_connections`, a
 * UInt64Value) when the options set `maxConnections`, else none.
 */
export function connectionLimitFilters(
  statPrefix: string,
  options: SidecarOptions | undefined,
): Record<string, unknown>[] {
  const filters: Record<string, unknown>[] = [];
  const rate = options?.maxConnectionsPerSecond;
  if (rate !== undefined) {
    // First: a connection over the rate is closed before it counts against max_connections.
    const config = {
      '@type': typeUrl(EXTENSION_TYPES.networkLocalRateLimit),
      stat_prefix: statPrefix,
      token_bucket: { max_tokens: rate, tokens_per_fill: { value: rate }, fill_interval: duration(1000) },
    };
    filters.push({ name: CONNECTION_RATE_LIMIT_FILTER, typed_config: config });
  }
  if (options?.maxConnections !== undefined) {
    const config = {
      '@type': CONNECTION_LIMIT_TYPE_URL,
      stat_prefix: statPrefix,
      max_connections: { value: options.maxConnections },
    };
    filters.push({ name: CONNECTION_LIMIT_FILTER, typed_config: config });
  }
  return filters;
}

/** Listener fields the options set: `per_connection_buffer_limit_bytes`. */
export function listenerLimitFields(options: SidecarOptions | undefined): Record<string, unknown> {
  return compact({ per_connection_buffer_limit_bytes: wrapped(options?.perConnectionBufferLimitBytes) });
}
