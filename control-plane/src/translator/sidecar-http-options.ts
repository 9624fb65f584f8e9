// How a sidecar's HTTP listeners treat headers and paths, from its Service's `sidecar` options over safe defaults. The
// inbound listener is the service's face: its app's headers are concealed and request paths prepared there. The
// outbound listener prepares paths for Route rules and leaves the Server header and escaped slashes to the
// destination's inbound sidecar.
import type { PathWithEscapedSlashesAction, ServerHeaderTransformation, SidecarOptions } from '../resources/types.ts';

/** What the Server header says (Envoy would say `envoy`). */
export const DEFAULT_SERVER_NAME = 'trellis';
export const DEFAULT_SERVER_HEADER_TRANSFORMATION: ServerHeaderTransformation = 'OVERWRITE';
/** App headers that advertise its stack (Express, PHP, ASP.NET set it): never shown to clients. */
export const DEFAULT_RESPONSE_HEADERS_TO_REMOVE: readonly string[] = ['x-powered-by'];
/**
 * %2F / %5C in a path: unescaped and the client redirected (307) to the unescaped path, as Envoy Gateway does. The
 * route, the authorization rules and the app then all read the same path, and the client is told; gRPC (which cannot
 * follow) gets INTERNAL. KEEP_UNCHANGED would hand `/public%2F..%2Fadmin` to an app that may decode it after the
 * sidecar matched it as a /public path; UNESCAPE_AND_FORWARD would silently change what such a request means;
 * REJECT_REQUEST gives a client no way forward.
 */
export const DEFAULT_ESCAPED_SLASHES_ACTION: PathWithEscapedSlashesAction = 'UNESCAPE_AND_REDIRECT';

/** The X-Real-IP every request reaching the app carries: the trusted client address, never the client's own header. */
export const X_REAL_IP = {
  header: { key: 'x-real-ip', value: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%' },
  append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
};

/** HttpConnectionManager fields of the inbound listener: the Server header and how request paths are prepared. */
export function inboundHcmFields(options: SidecarOptions | undefined): Record<string, unknown> {
  return {
    server_name: options?.serverName ?? DEFAULT_SERVER_NAME,
    server_header_transformation: options?.serverHeaderTransformation ?? DEFAULT_SERVER_HEADER_TRANSFORMATION,
    normalize_path: { value: options?.normalizePath ?? true },
    merge_slashes: options?.mergeSlashes ?? true,
    path_with_escaped_slashes_action: options?.pathWithEscapedSlashesAction ?? DEFAULT_ESCAPED_SLASHES_ACTION,
  };
}

/**
 * HttpConnectionManager fields of the outbound listener, where Route rules are matched: paths are prepared as the
 * service's options say (normalize_path and merge_slashes, so rules match `/a/../admin` and `//admin` as `/admin`).
 * The Server header (APPEND_IF_ABSENT) and escaped slashes (KEEP_UNCHANGED) are left to the destination's inbound
 * sidecar: what it decided reaches the app unchanged, replies this sidecar makes itself are named, and a destination
 * that accepts %2F is not cut off by its callers.
 */
export function outboundHcmFields(options: SidecarOptions | undefined): Record<string, unknown> {
  return {
    server_name: DEFAULT_SERVER_NAME,
    server_header_transformation: 'APPEND_IF_ABSENT',
    normalize_path: { value: options?.normalizePath ?? true },
    merge_slashes: options?.mergeSlashes ?? true,
    path_with_escaped_slashes_action: 'KEEP_UNCHANGED',
  };
}

/** RouteConfiguration fields of the inbound routes to the app: X-Real-IP set, the app's tell-tale headers removed. */
export function inboundRouteConfigFields(options: SidecarOptions | undefined): Record<string, unknown> {
  const remove = [
    ...new Set((options?.responseHeadersToRemove ?? DEFAULT_RESPONSE_HEADERS_TO_REMOVE).map((h) => h.toLowerCase())),
  ];
  const fields: Record<string, unknown> = { request_headers_to_add: [X_REAL_IP] };
  if (remove.length > 0) fields['response_headers_to_remove'] = remove;
  return fields;
}
