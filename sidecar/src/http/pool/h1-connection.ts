// One keep-alive HTTP/1.1 connection to an upstream host: writes a request (streaming its body), parses the response.
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Dialed } from '../../upstream/dialer.ts';
import { H1ResponseParser, type ResponseParserSink } from '../codec/h1-response-parser.ts';
import { connectionSweeper, type IdleTracked } from '../codec/idle-sweeper.ts';
import type { HeaderList } from '../message/header-list.ts';
import type { AttemptError } from './upstream-attempt.ts';

/** One request on a pooled connection, and what it hears back. */
export interface H1Call {
  readonly method: string;
  readonly path: string;
  /** Sent as Host, first after the request line. */
  readonly authority: string;
  /** Lower-case request headers without Host or framing headers (the connection adds those). */
  readonly headers: HeaderList;
  readonly body: Readable | null;
  /** Upgrade token ('websocket') for upgrade requests. */
  readonly upgrade: string | undefined;
  /** Set by the pool while the call owns a connection. */
  connection: H1Connection | undefined;
  onHead(status: number, headers: HeaderList): void;
  /** false pauses the connection until resume(). */
  onData(chunk: Buffer): boolean;
  /** The response is complete; `last` is its final body chunk when it came with the end. */
  onEnd(trailers: HeaderList | undefined, last: Buffer | undefined): void;
  onUpgrade(status: number, headers: HeaderList, socket: Socket, head: Buffer): void;
  onFailure(error: AttemptError): void;
}

/** What the connection needs from its pool. */
export interface H1ConnectionOwner {
  readonly maxHeadBytes: number;
  connected(conn: H1Connection): void;
  /** The response completed and the connection can carry another request. */
  reusable(conn: H1Connection): void;
  closed(conn: H1Connection, wasConnected: boolean): void;
  /** A reused connection died before answering a retry-safe call: run it again on a fresh one. */
  redispatch(call: H1Call): void;
}

/** Methods a client may repeat on its own (RFC 9110 §9.2.1) when a reused connection was found closed. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

export class H1Connection implements ResponseParserSink, IdleTracked {
  readonly socket: Socket;
  private readonly owner: H1ConnectionOwner;
  private readonly parser: H1ResponseParser;
  private call: H1Call | undefined;
  private isConnected = false;
  private reused = false;
  private keepAlive = false;
  private requestWritten = false;
  private responseDone = false;
  private inExecute = false;
  private dead = false;
  // Keep-alive idle timeout once connected (watched by connectionSweeper; activity = a request or response bytes).
  idleMs = 0;
  lastActiveMs = 0;
  idleSlot = -1;
  private readonly idleTimeoutMs: number;

  constructor(owner: H1ConnectionOwner, dial: () => Dialed, connectTimeoutMs: number, idleTimeoutMs: number) {
    this.owner = owner;
    this.parser = new H1ResponseParser(this, owner.maxHeadBytes);
    this.idleTimeoutMs = idleTimeoutMs;
    const { socket, ready } = dial();
    this.socket = socket;
    socket.setTimeout(connectTimeoutMs);
    // Usable once connected (over TLS: once the handshake verified the upstream's identity).
    socket.once(ready, () => {
      this.isConnected = true;
      // From now on the keep-alive idle timeout applies, through the shared sweeper (a socket timeout would re-arm a
      // timer on every read and write).
      socket.setTimeout(0);
      if (this.idleTimeoutMs > 0 && !this.dead) {
        this.idleMs = this.idleTimeoutMs;
        connectionSweeper.track(this);
      }
      owner.connected(this);
    });
    socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
    socket.on('end', () => this.onSocketEnd());
    socket.on('timeout', () => {
      if (!this.isConnected || this.call === undefined) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.onSocketClose());
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** Writes a call's request head (and starts streaming its body). */
  assign(call: H1Call): void {
    this.lastActiveMs = connectionSweeper.now;
    this.call = call;
    call.connection = this;
    this.requestWritten = false;
    this.responseDone = false;
    this.parser.expect(call.method, call.upgrade !== undefined);
    const body = call.body;
    let head = `${call.method} ${call.path} HTTP/1.1\r\nhost: ${call.authority}\r\n`;
    const h = call.headers;
    let length = false;
    for (let i = 0; i < h.length; i += 2) {
      if (h[i] === 'content-length') length = true;
      head += `${h[i]}: ${h[i + 1]}\r\n`;
    }
    if (call.upgrade !== undefined) head += `connection: upgrade\r\nupgrade: ${call.upgrade}\r\n`;
    if (body === null) {
      this.requestWritten = true;
      this.socket.write(`${head}\r\n`, 'latin1');
      return;
    }
    this.socket.write(`${head}${length ? '' : 'transfer-encoding: chunked\r\n'}\r\n`, 'latin1');
    new BodyPump(this, body, !length).start();
  }

  /** Resumes reading after the call's onData returned false. */
  resume(): void {
    this.socket.resume();
  }

  /** Gives up on the current call: the connection cannot be reused mid-exchange, so it closes. */
  abort(): void {
    this.call = undefined;
    this.dead = true;
    this.socket.destroy();
  }

  /** Closes an idle connection (pool shutdown, idle timeout, host removed). */
  close(): void {
    this.dead = true;
    this.socket.destroy();
  }

  bodyWritten(): void {
    this.requestWritten = true;
    if (this.responseDone) this.finishCall();
  }

  bodyFailed(): void {
    this.fail('reset');
  }

  // ---- parser sink --------------------------------------------------------------------------------------------

  onHead(status: number, headers: HeaderList, keepAlive: boolean): void {
    this.keepAlive = keepAlive;
    this.call?.onHead(status, headers);
  }

  onBody(chunk: Buffer): void {
    const call = this.call;
    if (call !== undefined && !call.onData(chunk)) this.socket.pause();
  }

  onEnd(trailers: HeaderList | undefined, last: Buffer | undefined): void {
    this.responseDone = true;
    const call = this.call;
    call?.onEnd(trailers, last);
    if (!this.inExecute && this.requestWritten) this.finishCall();
  }

  onUpgrade(status: number, headers: HeaderList, rest: Buffer): void {
    const call = this.call;
    this.call = undefined;
    this.dead = true;
    connectionSweeper.untrack(this);
    const socket = this.socket;
    socket.removeAllListeners('data');
    socket.removeAllListeners('end');
    socket.removeAllListeners('timeout');
    socket.removeAllListeners('close');
    this.owner.closed(this, true);
    call?.onUpgrade(status, headers, socket, rest);
  }

  // ---- socket events ------------------------------------------------------------------------------------------

  /** No traffic for the idle timeout: an idle pooled connection closes; one carrying a call is watched again. */
  idleTimedOut(): void {
    if (this.dead) return;
    if (this.call !== undefined) connectionSweeper.track(this);
    else this.close();
  }

  private onSocketData(chunk: Buffer): void {
    this.lastActiveMs = connectionSweeper.now;
    if (this.call === undefined) {
      this.close();
      return;
    }
    this.inExecute = true;
    const err = this.parser.execute(chunk);
    this.inExecute = false;
    if (err !== undefined) {
      this.fail('protocol');
      return;
    }
    if (this.responseDone && this.requestWritten && this.call !== undefined) this.finishCall();
  }

  private onSocketEnd(): void {
    if (this.call !== undefined && this.parser.readsUntilClose) {
      this.parser.finish();
      return;
    }
    this.socket.destroy();
  }

  private onSocketClose(): void {
    connectionSweeper.untrack(this);
    const call = this.call;
    this.call = undefined;
    this.dead = true;
    this.owner.closed(this, this.isConnected);
    if (call === undefined || this.responseDone) return;
    call.connection = undefined;
    if (!this.isConnected) call.onFailure('connect-failure');
    else if (this.reused && !this.parser.started && call.body === null && SAFE.has(call.method))
      this.owner.redispatch(call);
    else call.onFailure('reset');
  }

  private finishCall(): void {
    const call = this.call;
    this.call = undefined;
    this.lastActiveMs = connectionSweeper.now;
    if (call !== undefined) call.connection = undefined;
    if (this.dead) return;
    if (this.keepAlive && !this.parser.busy) {
      this.reused = true;
      // A call that stopped reading (its client went slow or away) may have left the socket paused: the next call
      // must read its response.
      if (this.socket.isPaused()) this.socket.resume();
      this.owner.reusable(this);
    } else {
      this.close();
    }
  }

  private fail(error: AttemptError): void {
    const call = this.call;
    this.call = undefined;
    this.dead = true;
    this.socket.destroy();
    if (call !== undefined && !this.responseDone) {
      call.connection = undefined;
      call.onFailure(error);
    }
  }
}

/** Streams a request body onto the connection with backpressure, chunk-encoding it when its length is unknown. */
class BodyPump {
  private readonly conn: H1Connection;
  private readonly body: Readable;
  private readonly chunked: boolean;

  constructor(conn: H1Connection, body: Readable, chunked: boolean) {
    this.conn = conn;
    this.body = body;
    this.chunked = chunked;
  }

  start(): void {
    const { body, conn } = this;
    const socket = conn.socket;
    const onDrain = (): void => {
      body.resume();
    };
    const cleanup = (): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('aborted', onError);
      socket.off('drain', onDrain);
      socket.off('close', onClose);
    };
    // The connection died mid-upload: let the rest of the body drain away (a paused, half-read request would stall
    // the downstream connection).
    const onClose = (): void => {
      cleanup();
      body.resume();
    };
    const onData = (chunk: Buffer): void => {
      if (chunk.length === 0) return;
      let ok: boolean;
      if (this.chunked) {
        socket.cork();
        socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
        socket.write(chunk);
        ok = socket.write('\r\n', 'latin1');
        socket.uncork();
      } else {
        ok = socket.write(chunk);
      }
      if (!ok) body.pause();
    };
    const onEnd = (): void => {
      cleanup();
      if (this.chunked) socket.write('0\r\n\r\n', 'latin1');
      conn.bodyWritten();
    };
    const onError = (): void => {
      cleanup();
      conn.bodyFailed();
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('aborted', onError);
    socket.on('drain', onDrain);
    socket.once('close', onClose);
  }
}
