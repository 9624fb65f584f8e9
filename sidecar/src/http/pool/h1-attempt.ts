// One try of a request over an HTTP/1.1 keep-alive pool, streaming the response into the exchange.
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Host } from '../../upstream/host/host.ts';
import type { HeaderList } from '../message/header-list.ts';
import type { H1Call, H1Connection } from './h1-connection.ts';
import type { H1Pool } from './h1-pool.ts';
import {
  type AttemptError,
  type AttemptSink,
  hostAttemptFinished,
  hostAttemptStarted,
  type OverloadCause,
  type UpstreamAttempt,
} from './upstream-attempt.ts';

const PENDING = 0;
const FORWARDING = 1;
const DISCARDING = 2;
const DONE = 3;

export class H1Attempt implements UpstreamAttempt, H1Call {
  readonly host: Host;
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly headers: HeaderList;
  readonly body: Readable | null;
  readonly upgrade = undefined;
  connection: H1Connection | undefined = undefined;
  overflowCause: OverloadCause | undefined = undefined;
  private readonly sink: AttemptSink;
  private readonly pool: H1Pool;
  private state = PENDING;
  private settled = false;
  private failed = false;

  constructor(
    sink: AttemptSink,
    host: Host,
    pool: H1Pool,
    method: string,
    path: string,
    authority: string,
    headers: HeaderList,
    body: Readable | null,
  ) {
    this.sink = sink;
    this.host = host;
    this.pool = pool;
    this.method = method;
    this.path = path;
    this.authority = authority;
    this.headers = headers;
    this.body = body;
  }

  start(): void {
    hostAttemptStarted(this.host);
    this.pool.dispatch(this);
  }

  cancel(): void {
    if (this.state === DONE) return;
    this.state = DONE;
    this.settle();
    this.pool.cancel(this);
  }

  resume(): void {
    this.connection?.resume();
  }

  onHead(status: number, headers: HeaderList): void {
    if (this.state !== PENDING) return;
    if (status >= 500) this.failed = true;
    const keep = this.sink.onUpstreamHeaders(this, status, headers, false);
    if (this.state === PENDING) this.state = keep ? FORWARDING : DISCARDING;
  }

  onData(chunk: Buffer): boolean {
    return this.state !== FORWARDING || this.sink.onUpstreamData(this, chunk);
  }

  onEnd(trailers: HeaderList | undefined, last: Buffer | undefined): void {
    this.settle();
    if (this.state !== FORWARDING) {
      this.state = DONE;
      return;
    }
    this.state = DONE;
    this.sink.onUpstreamEnd(this, trailers, last);
  }

  onUpgrade(_status: number, _headers: HeaderList, socket: Socket): void {
    socket.destroy();
  }

  onFailure(error: AttemptError): void {
    this.failed = true;
    // The pool overflows a call when its wait queue is full (max_pending_requests), or when it has no connection to
    // wait for because the cluster's max_connections breaker refused to open one.
    if (error === 'overflow') this.overflowCause = this.pool.size === 0 ? 'max_connections' : 'max_pending_requests';
    this.settle();
    if (this.state === DONE || this.state === DISCARDING) {
      this.state = DONE;
      return;
    }
    this.state = DONE;
    this.sink.onUpstreamError(this, error);
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    hostAttemptFinished(this.host, this.failed);
  }
}
