// X-Forwarded-For / X-Forwarded-Proto / X-Request-Id on requests going upstream (Envoy's XFF trust model); X-Real-IP is a
// request header mutation rendering %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%, the client address returned here.
import type { HttpConnectionManagerConfig } from '../../config/model.ts';
import { type HeaderList, headerGet, headerHas, headerSet } from './header-list.ts';
import { newRequestId } from './request-id.ts';

export type ForwardingConfig = Pick<
  HttpConnectionManagerConfig,
  'useRemoteAddress' | 'xffNumTrustedHops' | 'generateRequestId'
>;

/** '::ffff:10.0.0.1' → '10.0.0.1'; undefined (a closed socket) → ''. */
export function normalizePeerAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.indexOf('.') > 0 ? address.slice(7) : address;
}

/**
 * Rewrites the forwarding headers in place and returns the trusted client address.
 * With useRemoteAddress the peer is appended to XFF and the client is the address xffNumTrustedHops from the
 * right (falling back to the peer); without it XFF is left alone and read the same way.
 */
export function applyForwardedHeaders(
  headers: HeaderList,
  peer: string,
  scheme: string,
  cfg: ForwardingConfig,
): string {
  const client = trustedClientAddress(headers, peer, cfg);
  if (cfg.useRemoteAddress) {
    const incoming = headerGet(headers, 'x-forwarded-for');
    headerSet(headers, 'x-forwarded-for', incoming === undefined ? peer : `${incoming}, ${peer}`);
  }
  const trusted = !cfg.useRemoteAddress || cfg.xffNumTrustedHops > 0;
  if (!trusted || !headerHas(headers, 'x-forwarded-proto')) headerSet(headers, 'x-forwarded-proto', scheme);
  if (cfg.generateRequestId && !headerHas(headers, 'x-request-id')) headers.push('x-request-id', newRequestId());
  return client;
}

/**
 * The trusted client address applyForwardedHeaders will return, without changing anything (HTTP filters read it
 * before the router prepares the upstream headers).
 */
export function trustedClientAddress(headers: HeaderList, peer: string, cfg: ForwardingConfig): string {
  const incoming = headerGet(headers, 'x-forwarded-for');
  if (incoming === undefined) return peer;
  if (cfg.useRemoteAddress) {
    if (cfg.xffNumTrustedHops === 0) return peer;
    return nthFromRight(`${incoming}, ${peer}`, cfg.xffNumTrustedHops) ?? peer;
  }
  return nthFromRight(incoming, cfg.xffNumTrustedHops) ?? peer;
}

/** The n-th address from the right of a comma-separated XFF value (0 = rightmost). */
function nthFromRight(xff: string, n: number): string | undefined {
  let end = xff.length;
  for (let i = 0; i < n; i++) {
    end = xff.lastIndexOf(',', end - 1);
    if (end < 0) return undefined;
  }
  const start = xff.lastIndexOf(',', end - 1) + 1;
  const addr = xff.slice(start, end).trim();
  return addr === '' ? undefined : addr;
}
