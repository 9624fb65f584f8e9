// One downstream HTTP/1.1 connection: reads request heads and bodies off the socket, one request at a time (pipelined
// requests wait, buffered), keep-alive, 100-continue, malformed input → 400/431, upgrades and CONNECT handed over.
import type { Socket } from 'node:net';
import { BodyReader, type BodySink, HEAD_OK, hasBareLf, parseRequestHead } from './h1-server-parser.ts';
import { type BodySource, H1RequestBody, H1ServerRequest } from './h1-server-request.ts';
import { H1ServerResponse, type ResponseOwner } from './h1-server-response.ts';
import { connectionSweeper, type IdleTracked } from './idle-sweeper.ts';

/** What the connection manager does with what a connection reads. */
export interface H1ServerHandlers {
  readonly draining: boolean;
  onRequest(req: H1ServerRequest, res: H1ServerResponse): void;
  /** A WebSocket upgrade or a CONNECT: the socket leaves HTTP (paused), `head` is what followed the request head. */
  onTunnel(req: H1ServerRequest, socket: Socket, head: Buffer): void;
  /** Malformed input: answer `status` on the socket and close it. */
  onMalformed(socket: Socket, status: number, reason: string): void;
}

export interface H1ServerOptions {
  maxHeadBytes: number;
  /** More header fields than this: 431 (HCM max_headers_count). */
  maxHeadersCount: number;
  /** Keep-alive connections with no request in flight close after this long without one (0 = never). */
  idleTimeoutMs: number;
  /**
   * A request head must be complete this long after its first byte (HCM request_headers_timeout; 0 = off): bytes
   * trickled into a head do not extend it (slowloris), and a new connection gets as long to start one.
   */
  headersTimeoutMs: number;
  /** After this many requests the connection closes (Connection: close on the last response; 0 = unlimited). */
  maxRequestsPerConnection: number;
}

const HEAD = 0;
const BODY = 1;
const WAIT = 2;
const CLOSED = 3;

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const HEAD_SCAN_BYTES = 4096;
/** Pipelined bytes buffered while a response is pending before the socket is paused. */
const MAX_BUFFERED = 64 * 1024;
const EMPTY = Buffer.alloc(0);

export class H1ServerConnection implements BodySink, BodySource, ResponseOwner, IdleTracked {
  private readonly socket: Socket;
  private readonly handlers: H1ServerHandlers;
  private readonly maxHeadBytes: number;
  private readonly maxHeadersCount: number;
  private readonly keepAliveMs: number;
  private readonly headersTimeoutMs: number;
  private readonly maxRequests: number;
  /** Requests read on this connection. */
  private requests = 0;
  private readonly body = new BodyReader();
  private state = HEAD;
  private buf: Buffer | undefined = undefined;
  private req: H1ServerRequest | undefined = undefined;
  private res: H1ServerResponse | undefined = undefined;
  /** The response went out before the body was read: the rest of the body is dropped. */
  private discarding = false;
  private bodyPaused = false;
  private bufferPaused = false;
  private peerEnded = false;
  private processing = false;
  // Idle timeout (watched by connectionSweeper; activity = a read or a finished response).
  idleMs = 0;
  lastActiveMs = 0;
  idleSlot = -1;
  private readonly onData = (chunk: Buffer): void => this.data(chunk);
  private readonly onEnd = (): void => this.peerEnd();
  private readonly onDrain = (): void => this.res?.drained();
  private readonly onClose = (): void => this.closed();

  constructor(socket: Socket, handlers: H1ServerHandlers, options: H1ServerOptions) {
    this.socket = socket;
    this.handlers = handlers;
    this.maxHeadBytes = options.maxHeadBytes;
    this.maxHeadersCount = options.maxHeadersCount;
    this.keepAliveMs = options.idleTimeoutMs;
    this.headersTimeoutMs = options.headersTimeoutMs;
    this.maxRequests = options.maxRequestsPerConnection;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('drain', this.onDrain);
    socket.once('close', this.onClose);
    this.watch(this.headersTimeoutMs > 0 ? this.headersTimeoutMs : this.keepAliveMs);
  }

  /** Responses carry Connection: close while the listener drains or once this is the connection's last request. */
  get draining(): boolean {
    return this.handlers.draining || (this.maxRequests > 0 && this.requests >= this.maxRequests);
  }

  /**
   * The listener drains: an idle connection closes once it stays idle `ms` more, rather than at once (a client may be
   * sending a request on it right now: it gets its answer with Connection: close instead of a reset).
   */
  drainIdle(ms: number): void {
    if (this.state !== HEAD || this.buf !== undefined || this.res !== undefined) return;
    this.watch(this.idleMs > 0 && this.idleMs < ms ? this.idleMs : ms);
  }

  /** Watches the connection with limit `ms` from now (0: not watched). */
  private watch(ms: number): void {
    if (ms === this.idleMs && this.idleSlot >= 0) {
      this.lastActiveMs = connectionSweeper.now;
      return;
    }
    connectionSweeper.untrack(this);
    this.idleMs = ms;
    if (ms > 0) connectionSweeper.track(this);
  }

  // ---- reading --------------------------------------------------------------------------------------------------

  private data(chunk: Buffer): void {
    const state = this.state;
    if (state === CLOSED) return;
    // The first byte of a head starts its deadline; more bytes of the same head do not move it.
    if (state !== HEAD || this.headersTimeoutMs === 0) this.lastActiveMs = connectionSweeper.now;
    else if (this.buf === undefined) this.watch(this.headersTimeoutMs);
    this.buf = this.buf === undefined ? chunk : Buffer.concat([this.buf, chunk]);
    this.process();
  }

  private process(): void {
    if (this.processing) return;
    this.processing = true;
    while (this.buf !== undefined) {
      const state = this.state;
      if (state === HEAD) {
        if (!this.readHead(this.buf)) break;
      } else if (state === BODY) {
        this.readBody(this.buf);
      } else {
        if (state === WAIT && this.buf.length > MAX_BUFFERED && !this.bufferPaused) {
          this.bufferPaused = true;
          this.socket.pause();
        }
        break;
      }
    }
    this.processing = false;
  }

  /** Parses one request head; false when more bytes are needed or reading stopped. */
  private readHead(buf: Buffer): boolean {
    let start = 0;
    while (start + 1 < buf.length && buf[start] === 13 && buf[start + 1] === 10) start += 2;
    const avail = buf.length - start;
    const prefix = buf.toString('latin1', start, start + Math.min(avail, HEAD_SCAN_BYTES));
    let end = prefix.indexOf('\r\n\r\n');
    if (end < 0 && avail > HEAD_SCAN_BYTES) {
      end = buf.indexOf(CRLFCRLF, start);
      if (end >= 0) end -= start;
    }
    if (end < 0) {
      if (avail > this.maxHeadBytes) this.malformed(431, 'request head too large');
      else if (hasBareLf(buf, start)) this.malformed(400, 'bare LF in request head');
      else this.buf = start === 0 ? buf : start === buf.length ? undefined : buf.subarray(start);
      return false;
    }
    if (end > this.maxHeadBytes) {
      this.malformed(431, 'request head too large');
      return false;
    }
    const text = end + 4 <= prefix.length ? prefix.slice(0, end) : buf.toString('latin1', start, start + end);
    const after = start + end + 4;
    this.buf = after === buf.length ? undefined : buf.subarray(after);
    const socket = this.socket;
    const req = new H1ServerRequest(socket);
    const status = parseRequestHead(text, req, this.maxHeadersCount);
    if (status !== HEAD_OK) {
      this.malformed(status, status === 431 ? 'too many request headers' : 'bad request head');
      return false;
    }
    if (req.upgrade || req.method === 'CONNECT') {
      this.handOver(req);
      return false;
    }
    this.requests++;
    const res = new H1ServerResponse(this, socket, req.method, req.httpVersion === '1.0', req.keepAlive);
    this.req = req;
    this.res = res;
    this.discarding = false;
    if (this.body.start(req.contentLength, req.chunked)) {
      req.body = new H1RequestBody(this);
      this.state = BODY;
      if (req.expectContinue) socket.write(CONTINUE, 'latin1');
    } else {
      this.state = WAIT;
      req.complete = true;
    }
    this.handlers.onRequest(req, res);
    return true;
  }

  private readBody(buf: Buffer): void {
    const n = this.body.feed(buf, this);
    if (n < 0) {
      this.malformed(400, 'bad request body framing');
      return;
    }
    this.buf = n === buf.length ? undefined : buf.subarray(n);
    if (!this.body.done) return;
    const req = this.req as H1ServerRequest;
    req.complete = true;
    if (this.bodyPaused) this.resumeBody();
    if (this.discarding) {
      this.nextRequest();
      return;
    }
    this.state = WAIT;
    req.body?.push(null);
  }

  onBodyData(chunk: Buffer): void {
    if (this.discarding) return;
    if ((this.req as H1ServerRequest).body?.push(chunk) === false && !this.bodyPaused) {
      this.bodyPaused = true;
      this.socket.pause();
    }
  }

  resumeBody(): void {
    if (!this.bodyPaused) return;
    this.bodyPaused = false;
    if (!this.bufferPaused) this.socket.resume();
  }

  // ---- responses ------------------------------------------------------------------------------------------------

  responseFinished(res: H1ServerResponse, keepAlive: boolean): void {
    if (res !== this.res) return;
    this.res = undefined;
    this.lastActiveMs = connectionSweeper.now;
    if (!keepAlive || this.state === CLOSED) {
      this.stop();
      if (!this.socket.destroyed) this.socket.end();
      return;
    }
    if (this.state === BODY) {
      // Answered before the whole body arrived (an early reply): read the rest of it and drop it.
      this.discarding = true;
      if (this.bodyPaused) this.resumeBody();
      return;
    }
    this.nextRequest();
  }

  /** The current request is done both ways: read the next one (maybe already buffered). */
  private nextRequest(): void {
    this.state = HEAD;
    this.req = undefined;
    this.discarding = false;
    if (this.bufferPaused) {
      this.bufferPaused = false;
      if (!this.bodyPaused) this.socket.resume();
    }
    if (this.buf !== undefined) this.process();
    if (this.state !== HEAD) return;
    if (this.buf === undefined && this.peerEnded) {
      this.stop();
      this.socket.end();
      return;
    }
    // Idle between requests; a pipelined partial head gets the head deadline from now.
    this.watch(this.buf === undefined || this.headersTimeoutMs === 0 ? this.keepAliveMs : this.headersTimeoutMs);
  }

  // ---- connection events ----------------------------------------------------------------------------------------

  /** The client closed its side: like node's http server, whatever it asked is abandoned and the connection ends. */
  private peerEnd(): void {
    this.peerEnded = true;
    const partial = this.state === HEAD && this.buf !== undefined;
    const res = this.res;
    this.res = undefined;
    this.req?.abort();
    this.req = undefined;
    this.stop();
    res?.abandon();
    if (partial) this.socket.destroy();
    else this.socket.end();
  }

  /** No traffic for the idle timeout: an idle keep-alive connection closes, a partial head gets 408. */
  idleTimedOut(): void {
    const state = this.state;
    const socket = this.socket;
    if (state === CLOSED) {
      // We ended our side (or gave up on the connection): once what we wrote is flushed and the peer stayed silent
      // for the idle timeout, let go of a socket it keeps half-open.
      if (socket.destroyed) return;
      if (socket.writableLength > 0) connectionSweeper.track(this);
      else socket.destroy();
      return;
    }
    if (state === BODY && this.res === undefined) {
      // Answered early, dropping the rest of a body that stopped arriving: nothing else watches this connection.
      this.stop();
      socket.destroy();
      return;
    }
    if (state !== HEAD) {
      // A request is in progress: its exchange's stream idle timer is in charge; watch the connection again after it.
      connectionSweeper.track(this);
      return;
    }
    if (this.buf === undefined) {
      this.stop();
      socket.destroy();
    } else this.malformed(408, 'request head timeout');
  }

  private closed(): void {
    connectionSweeper.untrack(this);
    this.state = CLOSED;
    this.buf = undefined;
    this.req?.abort();
    this.req = undefined;
    const res = this.res;
    this.res = undefined;
    res?.closed();
  }

  /** Malformed input: 400/431 unless a response head already went out, then the connection closes. */
  private malformed(status: number, reason: string): void {
    const res = this.res;
    const started = res?.headersSent === true;
    res?.abandon();
    this.res = undefined;
    this.req?.abort();
    this.stop();
    // The answer closes the socket once flushed (rejectMalformed).
    if (started) this.socket.destroy();
    else this.handlers.onMalformed(this.socket, status, reason);
  }

  /** Stops reading HTTP on this socket. */
  private stop(): void {
    this.state = CLOSED;
    this.buf = undefined;
  }

  /** WebSocket upgrade or CONNECT: the socket is no longer ours. */
  private handOver(req: H1ServerRequest): void {
    const socket = this.socket;
    const head = this.buf ?? EMPTY;
    this.stop();
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('drain', this.onDrain);
    socket.off('close', this.onClose);
    connectionSweeper.untrack(this);
    socket.pause();
    req.complete = true;
    this.handlers.onTunnel(req, socket, head);
  }
}
