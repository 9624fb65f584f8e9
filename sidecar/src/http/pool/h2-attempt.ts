// One try of a request as a stream on a multiplexed HTTP/2 session (gRPC and plain h2c upstreams), both ways streaming.
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import type { Readable } from 'node:stream';
import type { Host } from '../../upstream/host/host.ts';
import { type HeaderList, headerListFromObject } from '../message/header-list.ts';
import type { UpstreamHeaders } from '../routing/response-headers.ts';
import type { H2Connection } from './h2-connection.ts';
import { sessionConnected } from './h2-connection.ts';
import {
  type AttemptError,
  type AttemptSink,
  hostAttemptFinished,
  hostAttemptStarted,
  type UpstreamAttempt,
} from './upstream-attempt.ts';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_FLAG_END_STREAM } = http2.constants;

const PENDING = 0;
const FORWARDING = 1;
const DISCARDING = 2;
const DONE = 3;

const kAttempt = Symbol('h2Attempt');

interface AttemptStream extends ClientHttp2Stream {
  [kAttempt]?: H2Attempt | undefined;
}

export class H2Attempt implements UpstreamAttempt {
  readonly host: Host;
  private readonly sink: AttemptSink;
  private stream: AttemptStream | undefined;
  private session: ClientHttp2Session | undefined;
  private body: Readable | null = null;
  private trailers: HeaderList | undefined;
  private state = PENDING;
  private settled = false;
  private failed = false;

  private readonly conn: H2Connection;
  private readonly headers: OutgoingHttpHeaders;
  private readonly requestBody: Readable | null;

  constructor(sink: AttemptSink, host: Host, conn: H2Connection, headers: OutgoingHttpHeaders, body: Readable | null) {
    this.sink = sink;
    this.host = host;
    this.conn = conn;
    this.headers = headers;
    this.requestBody = body;
  }

  start(): void {
    const { conn, headers, requestBody: body } = this;
    hostAttemptStarted(this.host);
    let opened: { stream: ClientHttp2Stream; session: ClientHttp2Session };
    try {
      opened = conn.request(headers, body === null);
    } catch {
      this.failed = true;
      this.settle();
      this.state = DONE;
      queueMicrotask(() => this.sink.onUpstreamError(this, 'connect-failure'));
      return;
    }
    const stream = opened.stream as AttemptStream;
    this.stream = stream;
    this.session = opened.session;
    stream[kAttempt] = this;
    stream.on('response', onResponse);
    stream.on('trailers', onTrailers);
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
    if (body !== null) {
      this.body = body;
      body.pipe(stream);
    }
  }

  cancel(): void {
    if (this.state === DONE) return;
    this.state = DONE;
    this.settle();
    this.detachBody();
    const stream = this.stream;
    if (stream !== undefined && !stream.destroyed) stream.close(NGHTTP2_CANCEL);
  }

  resume(): void {
    this.stream?.resume();
  }

  handleResponse(headers: UpstreamHeaders, flags: number): void {
    if (this.state !== PENDING) return;
    const status = Number(headers[':status']);
    if (status >= 500) this.failed = true;
    const endStream = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
    if (this.sink.onUpstreamHeaders(this, status, headerListFromObject(headers, true), endStream)) {
      if (this.state === PENDING) this.state = FORWARDING;
    } else if (this.state === PENDING) {
      this.state = DISCARDING;
      this.detachBody();
      this.stream?.close(NGHTTP2_CANCEL);
    }
  }

  handleTrailers(trailers: UpstreamHeaders): void {
    this.trailers = headerListFromObject(trailers, true);
  }

  handleData(chunk: Buffer): void {
    if (this.state === FORWARDING && !this.sink.onUpstreamData(this, chunk)) this.stream?.pause();
  }

  handleEnd(): void {
    if (this.state !== FORWARDING) return;
    this.state = DONE;
    this.settle();
    this.sink.onUpstreamEnd(this, this.trailers);
  }

  handleClose(): void {
    this.detachBody();
    const stream = this.stream;
    if (stream !== undefined) stream[kAttempt] = undefined;
    if (this.state === DONE || this.state === DISCARDING) {
      this.state = DONE;
      this.settle();
      return;
    }
    this.state = DONE;
    this.failed = true;
    this.settle();
    let error: AttemptError = 'reset';
    if (this.session !== undefined && !sessionConnected(this.session)) error = 'connect-failure';
    else if (stream?.rstCode === NGHTTP2_REFUSED_STREAM) error = 'refused-stream';
    this.sink.onUpstreamError(this, error);
  }

  private detachBody(): void {
    const body = this.body;
    if (body === null) return;
    this.body = null;
    if (this.stream !== undefined) body.unpipe(this.stream);
    body.resume(); // whatever the client still sends is dropped, not left to stall its connection
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    hostAttemptFinished(this.host, this.failed);
  }
}

function onResponse(this: AttemptStream, headers: UpstreamHeaders, flags: number): void {
  this[kAttempt]?.handleResponse(headers, flags);
}

function onTrailers(this: AttemptStream, trailers: UpstreamHeaders): void {
  this[kAttempt]?.handleTrailers(trailers);
}

function onData(this: AttemptStream, chunk: Buffer): void {
  this[kAttempt]?.handleData(chunk);
}

function onEnd(this: AttemptStream): void {
  this[kAttempt]?.handleEnd();
}

/** Errors are reported through 'close' (which always follows); the listener keeps them from being thrown. */
function onError(this: AttemptStream): void {}

function onClose(this: AttemptStream): void {
  this[kAttempt]?.handleClose();
}
