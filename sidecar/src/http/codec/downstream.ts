// The downstream side of a stream: an encoder per codec (HTTP/1.1, HTTP/2) writing heads, bodies, trailers and resets.
import http2, { type Http2ServerRequest, type Http2ServerResponse, type OutgoingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { type HeaderList, headerHas, headerListToObject, headerRemove } from '../message/header-list.ts';
import type { H1ServerRequest } from './h1-server-request.ts';
import type { H1ServerResponse } from './h1-server-response.ts';
import { locallyReset } from './h2-session-guard.ts';

export type DownstreamRequest = H1ServerRequest | Http2ServerRequest;
export type DownstreamResponse = H1ServerResponse | Http2ServerResponse;

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR } = http2.constants;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** What head() did: the head went out, it could not be encoded (nothing was written), or the stream is gone. */
export type HeadResult = 'sent' | 'invalid' | 'gone';

/**
 * Headers node:http2 refuses to repeat (its single-value list): identical repeats are collapsed, differing ones make
 * the head invalid (the caller answers 502 instead), except `date`, where the first wins.
 */
const H2_SINGLE_VALUE: ReadonlySet<string> = new Set([
  'access-control-allow-credentials',
  'access-control-max-age',
  'access-control-request-method',
  'age',
  'authorization',
  'content-encoding',
  'content-language',
  'content-length',
  'content-location',
  'content-md5',
  'content-range',
  'content-type',
  'date',
  'dnt',
  'etag',
  'expires',
  'from',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'range',
  'referer',
  'retry-after',
  'tk',
  'upgrade-insecure-requests',
  'user-agent',
  'x-content-type-options',
]);

/** Connection-specific headers HTTP/2 forbids (RFC 9113 §8.2.2); dropped, as they describe the upstream hop only. */
const H2_CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'te',
]);

/**
 * A response head as node:http2 takes it, checked the way node checks it so that respond() cannot throw: undefined
 * when the status or a header cannot go out over HTTP/2 (a pseudo-header, an invalid name or value, differing repeats
 * of a single-value header).
 */
export function h2ResponseHead(status: number, headers: HeaderList): OutgoingHttpHeaders | undefined {
  if (!(status >= 200 && status <= 599)) return undefined;
  const obj: Record<string, string | string[] | number> = { ':status': status };
  for (let i = 0; i < headers.length; i += 2) {
    let name = headers[i] as string;
    const value = headers[i + 1] as string;
    if (!TOKEN.test(name)) {
      const lower = name.toLowerCase();
      if (!TOKEN.test(lower)) return undefined;
      name = lower;
    }
    if (INVALID_VALUE.test(value)) return undefined;
    if (H2_CONNECTION_SPECIFIC.has(name)) continue;
    const prev = obj[name];
    if (prev === undefined || name === '__proto__') {
      if (name === '__proto__') return undefined;
      obj[name] = value;
    } else if (H2_SINGLE_VALUE.has(name)) {
      if (prev !== value && name !== 'date') return undefined;
    } else if (typeof prev === 'string') obj[name] = [prev, value];
    else (prev as string[]).push(value);
  }
  return obj;
}

/** The HTTP/2 stream behind a response can take no more frames (reset by the peer, closed, session gone). */
export function h2StreamGone(res: Http2ServerResponse): boolean {
  const stream = res.stream;
  return stream === undefined || stream.destroyed || stream.closed;
}

/** What a stream hears from its client's side: the stream or connection went away, or the client's buffer drained. */
export interface DownstreamEvents {
  downstreamClosed(): void;
  resumeUpstream(): void;
}

/** Per-connection bookkeeping of in-flight requests (HTTP/1.1 connections tell theirs when they close). */
export interface ConnectionTracker {
  requestStarted(socket: Socket, request: DownstreamEvents): void;
  requestFinished(socket: Socket, request: DownstreamEvents): void;
}

/**
 * One request's response, written the same way whatever the codec: the stream never asks which protocol it speaks.
 * Never throws for what a peer sent: a head that cannot be encoded is 'invalid' and nothing was written.
 */
export interface DownstreamEncoder {
  /** Streams flow both ways at once and end with trailers (HTTP/2): what gRPC needs. */
  readonly fullDuplex: boolean;
  /** The client's connection (HTTP/2: the session's socket). */
  readonly socket: Socket;
  /** A head went out (or the response was taken over). */
  readonly headersSent: boolean;
  /** The request body as a stream; undefined when the request carries none. */
  requestBody(): Readable | undefined;
  /** The client's stream can take no more frames (HTTP/2: reset, closed, session gone). */
  gone(): boolean;
  /** Tells `events` when the client goes away, until detach(). */
  attach(events: DownstreamEvents, tracker: ConnectionTracker): void;
  detach(events: DownstreamEvents, tracker: ConnectionTracker): void;
  /**
   * Sends the response head. endStream finishes the response with the head: over HTTP/2 as one HEADERS frame with
   * END_STREAM (what gRPC clients need for trailers-only answers). closeConnection asks HTTP/1.1 to close afterwards.
   */
  head(status: number, headers: HeaderList, endStream: boolean, closeConnection: boolean): HeadResult;
  /** Writes a complete small response (local replies); what head() did ('sent' when it went out whole). */
  whole(status: number, headers: HeaderList, body: string | Buffer, closeConnection: boolean): HeadResult;
  /** A head whose body streams (no content-length: chunked, SSE) goes out now, not with its first chunk. */
  showHead(headers: HeaderList): void;
  /** Writes a body chunk; false when the caller should wait for resumeUpstream(). */
  write(chunk: Buffer): boolean;
  /** After write() returned false: events.resumeUpstream() when the client's buffer drains. */
  waitDrain(): void;
  /** Ends the response, with a last body chunk and trailers (dropped by HTTP/1.1 when the body is not chunked). */
  end(trailers: HeaderList | undefined, last?: Buffer): void;
  /** Aborts a response that cannot be completed: RST_STREAM over HTTP/2, closing the connection over HTTP/1.1. */
  reset(cancelled: boolean): void;
}

/** A whole small response through an encoder's head() and a last body write. */
function writeWhole(
  enc: DownstreamEncoder,
  status: number,
  headers: HeaderList,
  body: string | Buffer,
  closeConnection: boolean,
  endWith: (body: string | Buffer) => void,
): HeadResult {
  if (body.length === 0) return enc.head(status, headers, true, closeConnection);
  headerRemove(headers, 'content-length');
  headers.push('content-length', String(Buffer.byteLength(body)));
  const sent = enc.head(status, headers, false, closeConnection);
  if (sent === 'sent') endWith(body);
  return sent;
}

/** Our HTTP/1.1 server's response. */
export class H1Encoder implements DownstreamEncoder {
  readonly fullDuplex = false;
  readonly socket: Socket;
  private readonly req: H1ServerRequest;
  private readonly res: H1ServerResponse;
  private events: DownstreamEvents | undefined;
  private drainHooked = false;

  constructor(req: H1ServerRequest, res: H1ServerResponse) {
    this.req = req;
    this.res = res;
    this.socket = req.socket;
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  requestBody(): Readable | undefined {
    return this.req.body;
  }

  gone(): boolean {
    return this.res.finished;
  }

  attach(events: DownstreamEvents, tracker: ConnectionTracker): void {
    this.events = events;
    tracker.requestStarted(this.socket, events);
  }

  detach(events: DownstreamEvents, tracker: ConnectionTracker): void {
    this.events = undefined;
    tracker.requestFinished(this.socket, events);
  }

  head(status: number, headers: HeaderList, endStream: boolean, closeConnection: boolean): HeadResult {
    const res = this.res;
    if (res.finished) return 'gone';
    if (res.headersSent) return 'invalid';
    try {
      res.writeHead(status, headers, endStream, closeConnection);
    } catch {
      return 'invalid';
    }
    return 'sent';
  }

  whole(status: number, headers: HeaderList, body: string | Buffer, closeConnection: boolean): HeadResult {
    return writeWhole(this, status, headers, body, closeConnection, (b) =>
      this.res.end(typeof b === 'string' ? Buffer.from(b) : b),
    );
  }

  showHead(headers: HeaderList): void {
    if (!headerHas(headers, 'content-length')) this.res.flushHeaders();
  }

  write(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }

  waitDrain(): void {
    if (this.drainHooked) return;
    this.drainHooked = true;
    this.res.on('drain', () => this.events?.resumeUpstream());
  }

  end(trailers: HeaderList | undefined, last?: Buffer): void {
    this.res.end(last, trailers);
  }

  reset(): void {
    this.res.destroy();
  }
}

const kEncoder = Symbol('encoder');

interface EncoderCarrier {
  [kEncoder]?: H2Encoder | undefined;
}

/** A node:http2 compat response (its stream written directly where the compat layer would keep state). */
export class H2Encoder implements DownstreamEncoder {
  readonly fullDuplex = true;
  readonly socket: Socket;
  private readonly req: Http2ServerRequest;
  private readonly res: Http2ServerResponse;
  events: DownstreamEvents | undefined;
  private drainHooked = false;

  constructor(req: Http2ServerRequest, res: Http2ServerResponse) {
    this.req = req;
    this.res = res;
    this.socket = req.socket as Socket;
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  requestBody(): Readable | undefined {
    return this.req.stream.endAfterHeaders ? undefined : this.req;
  }

  gone(): boolean {
    return h2StreamGone(this.res);
  }

  attach(events: DownstreamEvents): void {
    this.events = events;
    (this.res as EncoderCarrier)[kEncoder] = this;
    this.res.on('close', onH2Close);
  }

  detach(): void {
    this.events = undefined;
  }

  head(status: number, headers: HeaderList, endStream: boolean): HeadResult {
    const res = this.res;
    if (h2StreamGone(res)) return 'gone';
    if (res.stream.headersSent) return 'invalid';
    const head = h2ResponseHead(status, headers);
    if (head === undefined) return 'invalid';
    // Straight to the stream (the compat response keeps no header state to poison); waitForTrailers lets the compat
    // layer send trailers added later (end()).
    res.stream.respond(head, { endStream, waitForTrailers: !endStream });
    return 'sent';
  }

  whole(status: number, headers: HeaderList, body: string | Buffer, closeConnection: boolean): HeadResult {
    return writeWhole(this, status, headers, body, closeConnection, (b) => this.res.end(b));
  }

  showHead(): void {
    // HTTP/2 sends a head at once.
  }

  write(chunk: Buffer): boolean {
    if (h2StreamGone(this.res)) return true;
    return this.res.write(chunk);
  }

  waitDrain(): void {
    if (this.drainHooked) return;
    this.drainHooked = true;
    this.res.on('drain', () => this.events?.resumeUpstream());
  }

  end(trailers: HeaderList | undefined, last?: Buffer): void {
    const res = this.res;
    if (h2StreamGone(res)) return;
    if (trailers !== undefined && trailers.length > 0) {
      const obj: Record<string, string | string[]> = {};
      // HTTP/2 sends trailers later, from an event handler where a throw cannot be caught: drop invalid ones here.
      for (let i = 0; i < trailers.length; i += 2) {
        if (!TOKEN.test(trailers[i] as string) || INVALID_VALUE.test(trailers[i + 1] as string)) {
          trailers.splice(i, 2);
          i -= 2;
        }
      }
      headerListToObject(trailers, obj);
      try {
        res.addTrailers(obj);
      } catch {
        // Trailers that cannot be written (invalid characters) are dropped; the body is complete without them.
      }
    }
    if (last === undefined) res.end();
    else res.end(last);
  }

  reset(cancelled: boolean): void {
    const stream = this.res.stream as Http2ServerResponse['stream'] | undefined;
    if (stream === undefined || stream.destroyed) return;
    locallyReset.add(stream);
    stream.close(cancelled ? NGHTTP2_CANCEL : NGHTTP2_INTERNAL_ERROR);
  }
}

function onH2Close(this: Http2ServerResponse): void {
  const enc = (this as EncoderCarrier)[kEncoder];
  (this as EncoderCarrier)[kEncoder] = undefined;
  const events = enc?.events;
  if (enc !== undefined) enc.events = undefined;
  events?.downstreamClosed();
}
