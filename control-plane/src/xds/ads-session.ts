// One ADS stream's lifecycle, shared by SotW and Delta: node check, registration, snapshot watch, writes, teardown.
import { type ServerDuplexStream, status } from '@grpc/grpc-js';
import { typeUrlOf, type XdsTypeKey } from '@trellis/xds-protos';
import type { Logger } from 'pino';
import type { Snapshot } from '../cache/snapshot.ts';
import type { SnapshotCache } from '../cache/snapshot-cache.ts';
import type { LogLimiter } from '../common/log-limiter.ts';
import type { Admission } from './admission.ts';
import { clip } from './client-text.ts';
import { decodeNode } from './decode-node.ts';
import type { Hold, InFlightBudget } from './in-flight.ts';
import type { MalformedRequest } from './messages.ts';
import { ProxyRecord, type ProxyTable } from './proxy-tracker.ts';
import type { PreEncoded, SharedResponses } from './shared-responses.ts';
import type { NodeAuthorizer, StreamPeer } from './stream-peer.ts';
import type { Subscription } from './subscription.ts';
import type { XdsObserver } from './xds-observer.ts';

export interface SessionDeps {
  cache: SnapshotCache;
  table: ProxyTable;
  logger: Logger;
  /** Rate-limits the warnings a client can cause per request or per stream (shared by every stream). */
  warnings: LogLimiter;
  streamId: string;
  /** Who the stream's client proved to be (its certificate's SPIFFE id), or plaintext. */
  peer: StreamPeer;
  /** May the node use the stream (e.g. claim its service); none = any node may. */
  authorize?: NodeAuthorizer;
  /** Told about pushes, ACKs, NACKs and stream ends (metrics, tracing); optional. */
  observer?: XdsObserver;
  /** Paces first configurations under a connect storm (shared by every stream); none = serve at once. */
  admission?: Admission;
  /**
   * Later snapshots wait here, first in first out, while the server's unanswered bytes are over budget (Istio's push
   * throttle); a stream that waits gets the newest snapshot when its turn comes. None = pushed at once.
   */
  pushes?: Admission;
  /** Encoded responses shared by the streams sent the same content (one per server). */
  responses: SharedResponses;
  /** Bytes written and not yet answered, server-wide (admission waits while over budget); none = not counted. */
  inFlight?: InFlightBudget;
}

/** What a protocol (SotW or Delta) does with a stream's requests and with new snapshots. */
export interface SessionHandler<Req> {
  request(req: Req, type: XdsTypeKey, record: ProxyRecord): void;
  /** A new snapshot; `previous` is the one the stream last worked from (types equal in both need no work). */
  snapshot(snapshot: Snapshot, record: ProxyRecord, previous: Snapshot | undefined): void;
}

interface AdsRequestBase {
  kind: 'sotw' | 'delta';
  node?: Record<string, unknown>;
  type_url: string;
}

export class AdsSession<Req extends AdsRequestBase, Res> {
  readonly #encode: (response: Res) => Buffer;
  log: Logger;
  /** Set once the first request's node is accepted. */
  record: ProxyRecord | undefined;
  /** The group's current snapshot (undefined until the cache has one). */
  snapshot: Snapshot | undefined;
  readonly #call: ServerDuplexStream<Req | MalformedRequest, PreEncoded>;
  readonly #protocol: 'sotw' | 'delta';
  readonly #deps: SessionDeps;
  readonly #handler: SessionHandler<Req>;
  #closed = false;
  #unwatch: (() => void) | undefined;
  /** Gives up the stream's place in the admission queue. */
  #cancelAdmission: (() => void) | undefined;
  /** The client is not reading: writes wait for 'drain' and snapshots meanwhile collapse into the newest one. */
  #blocked = false;
  #pendingSnapshot: Snapshot | undefined;
  /** Gives up the stream's place in the push queue; set while a snapshot waits for the server's budget. */
  #cancelPush: (() => void) | undefined;
  /** Per type URL, the bytes of responses not answered yet (released on the answer to the latest, or at the end). */
  readonly #holds = new Map<string, Hold[]>();

  constructor(
    call: ServerDuplexStream<Req | MalformedRequest, PreEncoded>,
    protocol: 'sotw' | 'delta',
    deps: SessionDeps,
    handler: SessionHandler<Req>,
    encode: (response: Res) => Buffer,
  ) {
    this.#call = call;
    this.#encode = encode;
    this.#protocol = protocol;
    this.#deps = deps;
    this.#handler = handler;
    this.log = deps.logger.child({ streamId: deps.streamId, protocol });
    call.on('data', (msg: Req | MalformedRequest) => this.#onData(msg));
    call.on('end', () => {
      this.#teardown('client closed the stream');
      if (!call.writableEnded) call.end();
    });
    call.on('cancelled', () => this.#teardown('cancelled'));
    call.on('error', (err: Error) => this.#teardown(`error: ${err.message}`));
    call.on('close', () => this.#teardown('closed'));
    call.on('finish', () => this.#teardown('finished'));
    call.on('drain', () => this.#onDrain());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The observer of the server, if any (pushes, ACKs, NACKs). */
  get observer(): XdsObserver | undefined {
    return this.#deps.observer;
  }

  /**
   * Writes the response `build` makes for a nonce, unless the stream has ended; returns the nonce it went with, or
   * undefined when nothing was written. `key` must determine the response's content but for the nonce: streams
   * writing the same key share one encoding and its nonce (a stream can meet a nonce again only after another one of
   * the type, and then for the same content). When the stream's buffer is full (the client does not read), later
   * snapshots wait for it to drain and only the newest one is pushed.
   */
  write(sub: Subscription, key: string, build: (nonce: string) => Res): string | undefined {
    if (this.#closed) return undefined;
    const { typeUrl } = sub;
    // Never the same nonce twice in a row for a type: an answer must say which of the two it answers.
    const response = this.#deps.responses.get(key, (nonce) => this.#encode(build(nonce)), sub.lastNonce);
    if (this.#deps.inFlight) {
      const hold = this.#deps.inFlight.hold(response.encoded.length);
      const holds = this.#holds.get(typeUrl)?.filter((h) => !h.released) ?? [];
      holds.push(hold);
      // A client that never answers a type keeps only its unexpired holds.
      this.#holds.set(typeUrl, holds);
    }
    if (!this.#call.write(response)) this.#blocked = true;
    return response.nonce;
  }

  /** The client answered the latest response of a type: it has taken every response of that type so far. */
  answered(typeUrl: string): void {
    const holds = this.#holds.get(typeUrl);
    if (!holds) return;
    this.#holds.delete(typeUrl);
    for (const h of holds) this.#deps.inFlight?.release(h);
  }

  /** Whether the client has fallen behind (its stream's send buffer is full). */
  get blocked(): boolean {
    return this.#blocked;
  }

  /** A warning a client can cause at will (per request, per stream): rate-limited across every stream. */
  warn(fields: Record<string, unknown>, msg: string): void {
    this.#deps.warnings.warn(this.log, fields, msg);
  }

  /** Ends the stream with an error status. */
  fail(code: status, details: string): void {
    if (this.#closed) return;
    this.warn({ code: status[code], details: clip(details) }, 'closing ADS stream');
    this.#call.emit('error', { code, details });
  }

  #onData(msg: Req | MalformedRequest): void {
    if (this.#closed) return;
    try {
      if (msg.kind === 'malformed') {
        this.fail(status.INVALID_ARGUMENT, msg.error);
        return;
      }
      const record = this.record ?? this.#accept(msg.node);
      if (!record) return;
      const type = typeUrlOf(msg.type_url);
      if (!type) {
        this.warn({ typeUrl: clip(msg.type_url) }, 'ignoring request for an unknown type URL');
        return;
      }
      this.#handler.request(msg, type, record);
    } catch (err) {
      this.log.error({ err }, 'ADS request handling failed');
      this.fail(status.INTERNAL, 'internal error handling the request');
    }
  }

  /** Caches the node of the stream's first request, registers the proxy and starts watching its group. */
  #accept(rawNode: Record<string, unknown> | undefined): ProxyRecord | undefined {
    if (!rawNode) {
      this.fail(status.INVALID_ARGUMENT, 'the first request of an ADS stream must carry a node');
      return undefined;
    }
    const node = decodeNode(rawNode);
    if (!node.id) {
      this.fail(status.INVALID_ARGUMENT, 'node.id is required');
      return undefined;
    }
    const { peer } = this.#deps;
    const denied = this.#deps.authorize?.(node, peer);
    if (denied !== undefined) {
      this.fail(status.PERMISSION_DENIED, denied);
      return undefined;
    }
    const group = this.#deps.cache.groupOf(node);
    const record = new ProxyRecord({
      streamId: this.#deps.streamId,
      node,
      protocol: this.#protocol,
      peer: this.#call.getPeer(),
      ...(peer.transport === 'mtls' ? { identity: peer.spiffeId } : {}),
    });
    this.record = record;
    // One child logger per stream (a child of the first one would keep both alive).
    this.log = this.#deps.logger.child({
      streamId: this.#deps.streamId,
      protocol: this.#protocol,
      node: node.id,
      group,
    });
    this.#deps.table.add(record);
    this.log.info({ peer: record.peer, identity: record.identity, cluster: node.cluster }, 'proxy connected');
    if (this.#closed) return undefined;
    const watch = (): void => {
      this.#cancelAdmission = undefined;
      if (this.#closed) return;
      this.#unwatch = this.#deps.cache.watch(group, (snapshot) => this.#onSnapshot(snapshot, record));
    };
    // Until admitted, requests are recorded (subscriptions, versions held) but nothing is sent.
    if (this.#deps.admission) this.#cancelAdmission = this.#deps.admission.admit(watch);
    else watch();
    return record;
  }

  #onDrain(): void {
    this.#blocked = false;
    const pending = this.#pendingSnapshot;
    this.#pendingSnapshot = undefined;
    if (pending && this.record && !this.#closed) this.#onSnapshot(pending, this.record);
  }

  #onSnapshot(snapshot: Snapshot, record: ProxyRecord): void {
    if (this.#closed) return;
    if (this.#blocked || this.#cancelPush) {
      this.#pendingSnapshot = snapshot;
      return;
    }
    // The first snapshot was paced by admission; later ones queue while the server's budget is spent.
    const pushes = this.#deps.pushes;
    if (pushes && this.snapshot !== undefined) {
      let queued = false;
      let granted = false;
      const cancel = pushes.admit(() => {
        granted = true;
        if (queued) this.#granted(record);
      });
      if (!granted) {
        queued = true;
        this.#cancelPush = cancel;
        this.#pendingSnapshot = snapshot;
        return;
      }
    }
    this.#push(snapshot, record);
  }

  /** The stream's turn in the push queue came: the newest snapshot goes out (after a drain, if it is blocked). */
  #granted(record: ProxyRecord): void {
    this.#cancelPush = undefined;
    const pending = this.#pendingSnapshot;
    this.#pendingSnapshot = undefined;
    if (!pending || this.#closed) return;
    if (this.#blocked) this.#pendingSnapshot = pending;
    else this.#push(pending, record);
  }

  #push(snapshot: Snapshot, record: ProxyRecord): void {
    const previous = this.snapshot;
    this.snapshot = snapshot;
    try {
      this.#handler.snapshot(snapshot, record, previous);
    } catch (err) {
      this.log.error({ err }, 'pushing a snapshot failed');
      this.fail(status.INTERNAL, 'internal error pushing configuration');
    }
  }

  #teardown(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelAdmission?.();
    this.#cancelAdmission = undefined;
    this.#cancelPush?.();
    this.#cancelPush = undefined;
    this.#pendingSnapshot = undefined;
    for (const typeUrl of [...this.#holds.keys()]) this.answered(typeUrl);
    this.#unwatch?.();
    this.#unwatch = undefined;
    if (this.record) {
      this.#deps.table.remove(this.record);
      this.#deps.observer?.closed(this.record);
      this.log.info({ reason }, 'proxy disconnected');
    } else {
      this.log.debug({ reason }, 'ADS stream ended before a node was known');
    }
  }
}
