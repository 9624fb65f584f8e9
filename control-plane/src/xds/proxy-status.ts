// What the control plane knows about each connected proxy: identity, stream kind, and per-type ACK/NACK state.
import type { NodeInfo } from '@trellis/node-contract';

export interface NackRecord {
  /** The version the client rejected (the one we sent with that nonce). */
  version: string;
  nonce: string;
  error: string;
  at: string;
}

export interface TypeStatus {
  typeUrl: string;
  /** Version of the last response sent for this type. */
  sentVersion: string;
  /** Version the client last ACKed ('' if never). */
  ackedVersion: string;
  ackedAt?: string;
  lastNack?: NackRecord;
  /** Names the client subscribes to; ['*'] for wildcard. */
  subscribed: string[];
}

export interface ProxyStatus {
  streamId: string;
  node: NodeInfo;
  protocol: 'sotw' | 'delta';
  connectedAt: string;
  peer: string;
  /** The SPIFFE id of the proxy's verified client certificate; absent on the plaintext port. */
  identity?: string;
  types: TypeStatus[];
}

export type ProxyEvent = { type: 'connected'; status: ProxyStatus } | { type: 'disconnected'; status: ProxyStatus };

/** Read side of the xDS server's connection table (used by the operator API and the registry). */
export interface ProxyTracker {
  list(): ProxyStatus[];
  /** Subscribes to connect/disconnect events; returns the unsubscribe function. */
  onEvent(listener: (e: ProxyEvent) => void): () => void;
}
