// The xDS server's connection table: one record per ADS stream with its node and per-type ACK/NACK state.

import type { NodeInfo } from '@trellis/node-contract';
import type { Logger } from 'pino';
import type { NackRecord, ProxyEvent, ProxyStatus, ProxyTracker, TypeStatus } from './proxy-status.ts';

export interface ProxyRecordInit {
  streamId: string;
  node: NodeInfo;
  protocol: 'sotw' | 'delta';
  peer: string;
  /** The SPIFFE id its client certificate proved (the TLS port); absent on the plaintext port. */
  identity?: string;
}

/** A type's status as kept: names possibly shared with other records, copied when handed out. */
type KeptStatus = Omit<TypeStatus, 'subscribed' | 'ackedAt'> & {
  subscribed: readonly string[];
  /** Epoch ms of the last ACK (a number per ACK, formatted only when handed out). */
  ackedAt?: number;
};

/** What one stream has sent, and what its client ACKed or NACKed, per type URL. */
export class ProxyRecord {
  readonly streamId: string;
  readonly node: NodeInfo;
  readonly protocol: 'sotw' | 'delta';
  readonly peer: string;
  readonly identity: string | undefined;
  readonly connectedAt = new Date().toISOString();
  readonly #types = new Map<string, KeptStatus>();

  constructor(init: ProxyRecordInit) {
    this.streamId = init.streamId;
    this.node = init.node;
    this.protocol = init.protocol;
    this.peer = init.peer;
    this.identity = init.identity;
  }

  #type(typeUrl: string): KeptStatus {
    let status = this.#types.get(typeUrl);
    if (!status) {
      status = { typeUrl, sentVersion: '', ackedVersion: '', subscribed: [] };
      this.#types.set(typeUrl, status);
    }
    return status;
  }

  /** The names may be shared with other records: they are never changed, only replaced. */
  subscribed(typeUrl: string, names: readonly string[]): void {
    this.#type(typeUrl).subscribed = names;
  }

  sent(typeUrl: string, version: string): void {
    this.#type(typeUrl).sentVersion = version;
  }

  acked(typeUrl: string, version: string): void {
    const status = this.#type(typeUrl);
    status.ackedVersion = version;
    status.ackedAt = Date.now();
  }

  nacked(typeUrl: string, nack: NackRecord): void {
    this.#type(typeUrl).lastNack = nack;
  }

  /** A copy safe to hand out; the node is shared (decodeNode froze it). */
  status(): ProxyStatus {
    return {
      streamId: this.streamId,
      node: this.node,
      protocol: this.protocol,
      connectedAt: this.connectedAt,
      peer: this.peer,
      ...(this.identity === undefined ? {} : { identity: this.identity }),
      types: [...this.#types.values()].map(({ ackedAt, ...t }) => ({
        ...t,
        ...(ackedAt === undefined ? {} : { ackedAt: new Date(ackedAt).toISOString() }),
        subscribed: [...t.subscribed],
        ...(t.lastNack ? { lastNack: { ...t.lastNack } } : {}),
      })),
    };
  }
}

/** The live connections, with connect/disconnect events for the registry and the operator API. */
export class ProxyTable implements ProxyTracker {
  readonly #records = new Map<string, ProxyRecord>();
  readonly #listeners = new Set<(e: ProxyEvent) => void>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  add(record: ProxyRecord): void {
    this.#records.set(record.streamId, record);
    this.#emit({ type: 'connected', status: record.status() });
  }

  remove(record: ProxyRecord): void {
    if (!this.#records.delete(record.streamId)) return;
    this.#emit({ type: 'disconnected', status: record.status() });
  }

  list(): ProxyStatus[] {
    return [...this.#records.values()].map((r) => r.status());
  }

  onEvent(listener: (e: ProxyEvent) => void): () => void {
    const wrapped = (e: ProxyEvent): void => listener(e);
    this.#listeners.add(wrapped);
    return () => {
      this.#listeners.delete(wrapped);
    };
  }

  #emit(event: ProxyEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (err) {
        this.#logger.error({ err, event: event.type }, 'proxy event listener failed');
      }
    }
  }
}
