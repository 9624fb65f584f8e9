// The TLS handshakes a listener's terminator has in progress: the raw sockets handed to a tls.Server, by the peer's
// address and port (unique among a listener's open connections; the tls.Server hands on a new TLSSocket over the raw
// one, which has the same peer), counted as the listener's connections until they finish or fail.
import type { Socket } from 'node:net';

/** `address:port` of the peer; undefined once the socket is gone. */
function peerKey(socket: Socket): string | undefined {
  const { remoteAddress, remotePort } = socket;
  return remoteAddress === undefined || remotePort === undefined ? undefined : `${remoteAddress}:${remotePort}`;
}

export class Handshakes {
  readonly #raw = new Map<string, Socket>();

  /** A raw socket is handed to the tls.Server: counted until it closes, finishes or fails. */
  begin(socket: Socket): void {
    const peer = peerKey(socket);
    if (peer === undefined) return;
    this.#raw.set(peer, socket);
    socket.once('close', () => {
      if (this.#raw.get(peer) === socket) this.#raw.delete(peer);
    });
  }

  /** The handshake of the connection under `secure` succeeded: the handler counts it from now on. */
  done(secure: Socket): void {
    const peer = peerKey(secure);
    if (peer !== undefined) this.#raw.delete(peer);
  }

  /**
   * The handshake failed: the TLS socket is destroyed and the connection under it reset (RST) at once. Destroying the
   * TLS socket (or the raw one) does not always close it: after OpenSSL's "unexpected message" on a whole garbage
   * record, the client saw nothing until the handshake deadline.
   */
  fail(secure: Socket): void {
    const peer = peerKey(secure);
    secure.destroy();
    const raw = peer === undefined ? undefined : this.#raw.get(peer);
    if (raw === undefined || raw.destroyed) return;
    try {
      raw.resetAndDestroy();
    } catch {
      raw.destroy();
    }
  }

  get size(): number {
    return this.#raw.size;
  }
}

/** An 'error' listener that closes the socket (a reset client must cost nothing more, and never throw). */
export function destroyOnError(this: Socket): void {
  this.destroy();
}
