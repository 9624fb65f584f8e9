// The keep-alive HTTP/1.1 connections to one upstream host: reuse most-recent-first, a connection cap, a wait queue.
import type { Socket } from 'node:net';
import type { Dialed } from '../../upstream/dialer.ts';
import { type H1Call, H1Connection, type H1ConnectionOwner } from './h1-connection.ts';

export interface H1PoolOptions {
  /** Opens a connection to the host (plaintext or mesh mTLS). */
  dial(): Dialed;
  connectTimeoutMs: number;
  /** Idle keep-alive connections close after this. */
  idleTimeoutMs: number;
  /** Most connections at once to this host; further calls wait for one to be free. */
  maxConnections: number;
  /** Most calls waiting for a connection (the cluster's max_pending_requests); beyond it calls overflow. */
  maxPending: number;
  /** The cluster-wide max_connections breaker: a slot per open connection (false = wait or overflow). */
  acquireConnection(): boolean;
  releaseConnection(): void;
  maxHeadBytes: number;
  /** A connection is up (its socket, e.g. to count its bytes). */
  onConnect(socket: Socket): void;
  onDisconnect(): void;
  onConnectFailure(): void;
}

export class H1Pool implements H1ConnectionOwner {
  readonly maxHeadBytes: number;
  private readonly opts: H1PoolOptions;
  private readonly idle: H1Connection[] = [];
  private readonly all = new Set<H1Connection>();
  private readonly queue: H1Call[] = [];
  private closing = false;
  private onEmpty: (() => void) | undefined;

  constructor(opts: H1PoolOptions) {
    this.opts = opts;
    this.maxHeadBytes = opts.maxHeadBytes;
  }

  /** Sends a call on an idle connection, a new one, or queues it when the cap is reached. */
  dispatch(call: H1Call): void {
    if (this.closing) {
      call.onFailure('connect-failure');
      return;
    }
    const conn = this.idle.pop() ?? this.open();
    if (conn !== undefined) conn.assign(call);
    else this.enqueue(call);
  }

  /** Waits for a connection; overflows when the queue is full or there is no connection to wait for. */
  private enqueue(call: H1Call): void {
    if (this.queue.length >= this.opts.maxPending || this.all.size === 0) call.onFailure('overflow');
    else this.queue.push(call);
  }

  /** Withdraws a call: out of the queue, or its connection is closed (it cannot be reused mid-exchange). */
  cancel(call: H1Call): void {
    const conn = call.connection;
    if (conn !== undefined) {
      call.connection = undefined;
      conn.abort();
      return;
    }
    const i = this.queue.indexOf(call);
    if (i >= 0) this.queue.splice(i, 1);
  }

  /** Closes idle connections now and the others as their calls finish; resolves when none is left. */
  close(): Promise<void> {
    this.closing = true;
    for (const conn of this.idle.splice(0)) conn.close();
    for (const call of this.queue.splice(0)) call.onFailure('connect-failure');
    if (this.all.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.onEmpty = resolve;
    });
  }

  /** Closes every connection, busy or not. */
  destroy(): void {
    this.closing = true;
    for (const call of this.queue.splice(0)) call.onFailure('connect-failure');
    for (const conn of [...this.all]) conn.close();
  }

  get size(): number {
    return this.all.size;
  }

  // ---- H1ConnectionOwner --------------------------------------------------------------------------------------

  connected(conn: H1Connection): void {
    this.opts.onConnect(conn.socket);
  }

  reusable(conn: H1Connection): void {
    if (this.closing) {
      conn.close();
      return;
    }
    const next = this.queue.shift();
    if (next !== undefined) conn.assign(next);
    else this.idle.push(conn);
  }

  closed(conn: H1Connection, wasConnected: boolean): void {
    if (!this.all.delete(conn)) return;
    this.opts.releaseConnection();
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    if (wasConnected) this.opts.onDisconnect();
    else this.opts.onConnectFailure();
    if (this.closing) {
      if (this.all.size === 0) this.onEmpty?.();
      return;
    }
    if (this.queue.length === 0) return;
    const fresh = this.open();
    const next = fresh === undefined ? undefined : this.queue.shift();
    if (next !== undefined) fresh?.assign(next);
    // Nothing left to wait for: the queued calls would never be served.
    if (this.all.size === 0) for (const call of this.queue.splice(0)) call.onFailure('overflow');
  }

  redispatch(call: H1Call): void {
    if (this.closing) {
      call.onFailure('reset');
      return;
    }
    const fresh = this.open();
    if (fresh !== undefined) fresh.assign(call);
    else if (this.all.size > 0) this.queue.unshift(call);
    else call.onFailure('reset');
  }

  /** A new connection when both the host cap and the cluster's connection breaker allow it. */
  private open(): H1Connection | undefined {
    if (this.all.size >= this.opts.maxConnections || !this.opts.acquireConnection()) return undefined;
    const { connectTimeoutMs, idleTimeoutMs } = this.opts;
    const conn = new H1Connection(this, () => this.opts.dial(), connectTimeoutMs, idleTimeoutMs);
    this.all.add(conn);
    return conn;
  }
}
