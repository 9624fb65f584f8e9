// What a downstream connection says about itself, read once per connection: its addresses, the SNI it asked for, and
// the peer's verified mesh identity (for RBAC and filters).
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { peerIdentityOf } from './peer-identity.ts';

export interface DownstreamConnection {
  /** The peer's address ('' once the socket is gone). */
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly localPort: number;
  /** The peer's verified client certificate URI SAN (its SPIFFE id); undefined in plaintext or without one. */
  readonly peerPrincipal: string | undefined;
  /** The SNI the TLS client sent. */
  readonly serverName: string | undefined;
}

const cache = new WeakMap<object, DownstreamConnection>();

/** The connection facts of a socket (an HTTP/2 session's socket proxy too), cached per socket. */
export function downstreamConnectionOf(socket: Socket): DownstreamConnection {
  const hit = cache.get(socket);
  if (hit !== undefined) return hit;
  const sni = socket instanceof TLSSocket ? socket.servername : undefined;
  const info: DownstreamConnection = {
    remoteAddress: socket.remoteAddress ?? '',
    localAddress: socket.localAddress ?? '',
    localPort: socket.localPort ?? 0,
    peerPrincipal: peerIdentityOf(socket)?.peerUri,
    serverName: typeof sni === 'string' && sni !== '' ? sni : undefined,
  };
  cache.set(socket, info);
  return info;
}
