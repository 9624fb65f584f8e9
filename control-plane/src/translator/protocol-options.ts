// Cluster.typed_extension_protocol_options: HttpProtocolOptions for HTTP/2 upstreams and upstream idle timeouts.
import { lookupType } from '@trellis/xds-protos';
import type { Protocol } from '../resources/types.ts';
import { compact, durationOf } from './proto-values.ts';

export const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** Whether @trellis/xds-protos can encode HttpProtocolOptions (its proto file must be in that package's list). */
export const HTTP_PROTOCOL_OPTIONS_ENCODABLE: boolean = (() => {
  try {
    lookupType(HTTP_PROTOCOL_OPTIONS);
    return true;
  } catch {
    return false;
  }
})();

export function speaksHttp2(protocol: Protocol): boolean {
  return protocol === 'HTTP2' || protocol === 'GRPC';
}

/**
 * typed_extension_protocol_options for a proxy's upstream connections: HTTP/2 for HTTP2/GRPC ports, and
 * `common_http_protocol_options.idle_timeout` for any HTTP port when `idleTimeout` is given (then HTTP/1.1 ports
 * say so explicitly: HttpProtocolOptions needs its protocol choice). Undefined when there is nothing to say, for
 * TCP ports, and when the proto cannot be encoded.
 */
export function upstreamProtocolOptions(
  protocol: Protocol,
  idleTimeout?: string | undefined,
): Record<string, unknown> | undefined {
  if (!HTTP_PROTOCOL_OPTIONS_ENCODABLE || protocol === 'TCP') return undefined;
  const h2 = speaksHttp2(protocol);
  const idle = durationOf(idleTimeout);
  if (!h2 && !idle) return undefined;
  return {
    [HTTP_PROTOCOL_OPTIONS]: compact({
      '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`,
      common_http_protocol_options: idle ? { idle_timeout: idle } : undefined,
      explicit_http_config: h2 ? { http2_protocol_options: {} } : { http_protocol_options: {} },
    }),
  };
}
