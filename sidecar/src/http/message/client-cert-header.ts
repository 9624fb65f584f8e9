// X-Forwarded-Client-Cert on requests going to the app, as Envoy's forward_client_cert_details: the caller's verified
// identity (`By=<our SPIFFE id>;Hash=<sha256>;URI=<theirs>`) where it is trusted, and never a client's own XFCC where
// it is not (a plaintext caller cannot claim an identity). Applied before routing, so routes can match on it.

import type { Socket } from 'node:net';
import { type PeerIdentity, peerIdentityOf } from '../../common/peer-identity.ts';
import type { ForwardClientCert } from '../../config/model.ts';
import { type HeaderList, headerGet, headerRemove, headerSet } from './header-list.ts';

export const XFCC = 'x-forwarded-client-cert';

/** The current connection's element: By (ours), Hash, and URI when asked for. */
function element(peer: PeerIdentity, cfg: ForwardClientCert): string {
  const parts: string[] = [];
  if (peer.localUri !== undefined) parts.push(`By=${peer.localUri}`);
  parts.push(`Hash=${peer.peerHash}`);
  if (cfg.setUri) parts.push(`URI=${peer.peerUri}`);
  return parts.join(';');
}

/**
 * XFCC for a request that came in on `socket`: every request path (streams, WebSocket upgrades, CONNECT) calls this
 * before routes and filters read the headers. The connection's identity is looked up only when the mode uses it.
 */
export function applyConnectionClientCert(headers: HeaderList, socket: Socket, cfg: ForwardClientCert): void {
  const uses = cfg.mode !== 'sanitize' && cfg.mode !== 'always-forward-only';
  applyClientCertHeader(headers, uses ? peerIdentityOf(socket) : undefined, cfg);
}

/** Rewrites XFCC in place for a request that came over a connection with `peer` (undefined: not mTLS). */
export function applyClientCertHeader(
  headers: HeaderList,
  peer: PeerIdentity | undefined,
  cfg: ForwardClientCert,
): void {
  switch (cfg.mode) {
    case 'always-forward-only':
      return;
    case 'sanitize':
      headerRemove(headers, XFCC);
      return;
    case 'forward-only':
      if (peer === undefined) headerRemove(headers, XFCC);
      return;
    case 'append-forward': {
      if (peer === undefined) {
        headerRemove(headers, XFCC);
        return;
      }
      const incoming = headerGet(headers, XFCC);
      headerSet(headers, XFCC, incoming === undefined ? element(peer, cfg) : `${incoming},${element(peer, cfg)}`);
      return;
    }
    case 'sanitize-set':
      if (peer === undefined) headerRemove(headers, XFCC);
      else headerSet(headers, XFCC, element(peer, cfg));
      return;
  }
}
