// What access logs know of a downstream connection: a process-wide id (shared by HTTP and TCP listeners) and its
// addresses as `ip:port`.
import type { Socket } from 'node:net';
import { peerIdentityOf } from './peer-identity.ts';

let nextConnectionId = 1;
const kConnectionId = Symbol('connectionId');

/** A new process-wide connection id (%CONNECTION_ID%). */
export function newConnectionId(): number {
  return nextConnectionId++;
}

/** The id of an accepted socket, given on first use (HTTP access logs ask for it only for sampled requests). */
export function connectionIdOf(socket: Socket): number {
  const s = socket as Socket & { [kConnectionId]?: number };
  let id = s[kConnectionId];
  if (id === undefined) {
    id = nextConnectionId++;
    s[kConnectionId] = id;
  }
  return id;
}

export interface DownstreamAddresses {
  remote: string | undefined;
  local: string | undefined;
  /** Under mesh mTLS: the client's SPIFFE id (%DOWNSTREAM_PEER_URI_SAN%) and ours (%DOWNSTREAM_LOCAL_URI_SAN%). */
  peerUri?: string | undefined;
  localUri?: string | undefined;
}

/**
 * The client's and our side's `ip:port` of an accepted socket, and the SPIFFE ids of a mesh mTLS connection (read
 * while it is open: a closed one forgets them).
 */
export function downstreamAddresses(socket: Socket): DownstreamAddresses {
  const identity = peerIdentityOf(socket);
  return {
    remote: address(socket.remoteAddress, socket.remotePort),
    local: address(socket.localAddress, socket.localPort),
    ...(identity === undefined ? {} : { peerUri: identity.peerUri, localUri: identity.localUri }),
  };
}

function address(ip: string | undefined, port: number | undefined): string | undefined {
  if (ip === undefined) return undefined;
  const host = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
