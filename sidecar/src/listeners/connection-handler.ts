// What a listener hands each accepted connection to: the HTTP connection manager or the TCP proxy.

import type { Socket } from 'node:net';
import type { ListenerConfig } from '../config/model.ts';

export interface ConnectionHandler {
  /** Takes ownership of an accepted socket. */
  handle(socket: Socket): void;
  /** Stops taking new requests on open connections, waits for in-flight ones up to graceMs, then closes. */
  drain(graceMs: number): Promise<void>;
  /** Active downstream connections (for /stats and drain). */
  activeConnections(): number;
}

/**
 * Builds the handler of a listener's network filter from what the rest of the sidecar gives it (`D`: the HTTP
 * connection manager's HttpDeps, the TCP proxy's TcpDeps; the sidecar passes one object that is both).
 */
export type ConnectionHandlerFactory<D> = (listener: ListenerConfig, deps: D) => ConnectionHandler;
