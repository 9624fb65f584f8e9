// Who is at the other end of a downstream connection terminated with mesh mTLS: the peer's SPIFFE id (URI SAN), our
// own, and the SHA-256 of the peer's certificate; read once per connection (cached by socket), undefined in plaintext.
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

export interface PeerIdentity {
  /** The client certificate's URI SAN (its SPIFFE id). */
  peerUri: string;
  /** Our certificate's URI SAN. */
  localUri: string | undefined;
  /** SHA-256 (hex) of the client certificate's DER. */
  peerHash: string;
}

const cache = new WeakMap<object, PeerIdentity | null>();

function uriOf(subjectAltName: string | undefined): string | undefined {
  const entry = (subjectAltName ?? '').split(', ').find((s) => s.startsWith('URI:'));
  return entry?.slice(4);
}

/**
 * The verified peer identity of a connection (an HTTP/2 session's socket proxy works too); undefined for plaintext
 * or a TLS peer without a verified certificate.
 */
export function peerIdentityOf(socket: Socket | undefined): PeerIdentity | undefined {
  if (socket === undefined) return undefined;
  const hit = cache.get(socket);
  if (hit !== undefined) return hit ?? undefined;
  let identity: PeerIdentity | null = null;
  if (socket instanceof TLSSocket && socket.authorized) {
    const peer = socket.getPeerCertificate();
    const peerUri = uriOf(peer.subjectaltname);
    if (peerUri !== undefined && peer.raw !== undefined) {
      identity = {
        peerUri,
        localUri: uriOf((socket.getCertificate() as { subjectaltname?: string } | null)?.subjectaltname),
        peerHash: createHash('sha256').update(peer.raw).digest('hex'),
      };
    }
  }
  cache.set(socket, identity);
  return identity ?? undefined;
}
