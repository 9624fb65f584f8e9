// Response headers on their way downstream: hop-by-hop removal, concealment of internal headers, Envoy-ordered mutations.
import type { HttpConnectionManagerConfig } from '../../config/model.ts';
import { applyHeaderOps, type HeaderList, headerHas, headerRemove, headerSet } from '../message/header-list.ts';
import type { CompiledRoute, CompiledVirtualHost, RouteTable } from './route-table.ts';

/**
 * Response headers that describe one hop only (RFC 9110 §7.6.1), plus HTTP/2 connection-specific ones. A switch on
 * the length: names fresh from the parser are not hashed yet, so a Set lookup would cost more than two compares.
 */
function isHopByHop(name: string): boolean {
  switch (name.length) {
    case 2:
      return name === 'te';
    case 7:
      return name === 'upgrade';
    case 10:
      return name === 'connection' || name === 'keep-alive';
    case 16:
      return name === 'proxy-connection';
    case 17:
      return name === 'transfer-encoding';
    default:
      return false;
  }
}

/** Our own internal header namespace: never shown to clients unless we generated the response. */
export const INTERNAL_PREFIX = 'x-trellis-';
export const RESPONSE_FLAGS_HEADER = 'x-trellis-response-flags';
export const OVERLOADED_HEADER = 'x-trellis-overloaded';

export type UpstreamHeaders = Readonly<Record<string, string | string[] | number | undefined>>;

/** Where the response-header mutations come from (any level may be missing for early local replies). */
export interface ResponseScope {
  table: RouteTable | undefined;
  vhost: CompiledVirtualHost | undefined;
  route: CompiledRoute | undefined;
}

/**
 * Removes hop-by-hop headers (and those Connection names), our internal headers and internal-only ones, in place. A
 * repeated Date (an older hop that appended its own) keeps its first value: Date is single-valued (node:http2 refuses
 * to send two).
 */
export function sanitizeUpstreamHeaders(list: HeaderList, internalOnly: readonly string[]): HeaderList {
  let connection: string | undefined;
  let date = false;
  let w = 0;
  for (let r = 0; r < list.length; r += 2) {
    const name = list[r] as string;
    if (isHopByHop(name)) {
      if (name === 'connection') connection = list[r + 1];
      continue;
    }
    if (name.length === 4 && name === 'date') {
      if (date) continue;
      date = true;
    }
    if (name.charCodeAt(0) === 120 /* x */ && name.startsWith(INTERNAL_PREFIX)) continue;
    if (w !== r) {
      list[w] = name;
      list[w + 1] = list[r + 1] as string;
    }
    w += 2;
  }
  list.length = w;
  if (connection !== undefined && connection !== 'keep-alive' && connection !== 'close') {
    // Other values may name headers to drop (`Connection: close, x-hop`).
    for (const token of connection.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '' && name !== 'close' && name !== 'keep-alive') headerRemove(list, name);
    }
  }
  for (let i = 0; i < internalOnly.length; i++) headerRemove(list, internalOnly[i] as string);
  return list;
}

/**
 * Route, then virtual host, then route-config mutations (Envoy's default order), then the Server header policy
 * (server_header_transformation: the app's own Server is concealed unless the listener passes it through).
 */
export function finalizeResponseHeaders(
  list: HeaderList,
  scope: ResponseScope,
  hcm: Pick<HttpConnectionManagerConfig, 'serverHeaderTransformation' | 'serverName'>,
): void {
  if (scope.route !== undefined) applyHeaderOps(list, scope.route.responseHeaders);
  if (scope.vhost !== undefined) applyHeaderOps(list, scope.vhost.responseHeaders);
  if (scope.table !== undefined) applyHeaderOps(list, scope.table.responseHeaders);
  const transformation = hcm.serverHeaderTransformation;
  if (transformation === 'overwrite') headerSet(list, 'server', hcm.serverName);
  else if (transformation === 'append-if-absent' && !headerHas(list, 'server')) list.push('server', hcm.serverName);
}
