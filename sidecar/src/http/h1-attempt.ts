// One try of a request over an HTTP/1.1 keep-alive pool: an undici dispatch handler streaming into the exchange.
import type { Readable } from 'node:stream';
import type { Dispatcher, Pool } from 'undici';
import type { Host } from '../upstream/host.ts';
import type { UpstreamHeaders } from './response-headers.ts';
import {
  type AttemptError,
  type AttemptSink,
  hostAttemptFinished,
  hostAttemptStarted,
  type UpstreamAttempt,
} from './upstream-attempt.ts';

const PENDING = 0;
const FORWARDING = 1;
const DISCARDING = 2;
const DONE = 3;

const cancelled = new Error('cancelled by the proxy');

/** Errors that mean the upstream spoke broken HTTP rather than went away. */
function isProtocolError(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  return (
    code === 'UND_ERR_HEADERS_OVERFLOW' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' || code.startsWith('HPE_')
  );
}

export class H1Attempt implements UpstreamAttempt, Dispatcher.DispatchHandler {
  readonly host: Host;
  private readonly sink: AttemptSink;
  private controller: Dispatcher.DispatchController | null = null;
  private state = PENDING;
  private settled = false;
  private failed = false;

  constructor(sink: AttemptSink, host: Host) {
    this.sink = sink;
    this.host = host;
  }

  start(pool: Pool, method: string, path: string, headers: string[], body: Readable | null): void {
    hostAttemptStarted(this.host);
    pool.dispatch({ method, path, headers, body, blocking: false }, this);
  }

  cancel(): void {
    if (this.state === DONE) return;
    this.state = DONE;
    this.settle();
    this.controller?.abort(cancelled);
  }

  resume(): void {
    this.controller?.resume();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.state === DONE) controller.abort(cancelled);
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: UpstreamHeaders): void {
    if (this.state !== PENDING) return;
    if (status >= 500) this.failed = true;
    const keep = this.sink.onUpstreamHeaders(this, status, headers, false);
    if (this.state === PENDING) this.state = keep ? FORWARDING : DISCARDING;
    else if (this.state === DONE) controller.abort(cancelled);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.state === FORWARDING && !this.sink.onUpstreamData(this, chunk)) controller.pause();
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: UpstreamHeaders): void {
    this.settle();
    if (this.state !== FORWARDING) return;
    this.state = DONE;
    this.sink.onUpstreamEnd(this, trailers);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    this.failed = true;
    this.settle();
    if (this.state === DONE || this.state === DISCARDING) {
      this.state = DONE;
      return;
    }
    this.state = DONE;
    const error: AttemptError =
      this.controller === null ? 'connect-failure' : isProtocolError(err) ? 'protocol' : 'reset';
    this.sink.onUpstreamError(this, error);
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    hostAttemptFinished(this.host, this.failed);
  }
}
