// A downstream HTTP/1.1 response: framing (Content-Length, chunked, close-delimited), one socket write per head (with
// the first or last body chunk when there is one), Connection handling, trailers on chunked bodies.
import { http } from '../../common/node-http.ts';

const { STATUS_CODES } = http;

import type { Socket } from 'node:net';
import type { HeaderList } from '../message/header-list.ts';

/** What a response tells its connection. */
export interface ResponseOwner {
  /** Set while the listener drains: responses carry Connection: close. */
  readonly draining: boolean;
  responseFinished(res: H1ServerResponse, keepAlive: boolean): void;
}

type Listener = (this: H1ServerResponse) => void;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-zA-Z]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const KEEP_ALIVE = 'connection: keep-alive\r\n';
const CLOSE = 'connection: close\r\n';
/** Bodies up to this size are copied next to the head into one buffer; larger ones go out corked. */
const COPY_LIMIT = 16 * 1024;

const statusLines: string[] = [];
function statusLine(status: number): string {
  let line = statusLines[status];
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    if (status >= 100 && status < 1000) statusLines[status] = line;
  }
  return line;
}

let dateLine = '';
let dateUntil = 0;
function date(): string {
  const now = Date.now();
  if (now >= dateUntil) {
    dateUntil = now - (now % 1000) + 1000;
    dateLine = `date: ${new Date(now).toUTCString()}\r\n`;
  }
  return dateLine;
}

export class H1ServerResponse {
  headersSent = false;
  /** The response is complete (or abandoned): later writes are ignored. */
  finished = false;
  readonly socket: Socket;
  private readonly owner: ResponseOwner;
  private readonly isHead: boolean;
  private readonly http10: boolean;
  private readonly requestKeepAlive: boolean;
  private head = '';
  private chunked = false;
  private noBody = false;
  private keepAlive = false;
  private abandoned = false;
  private onDrain: Listener | undefined = undefined;
  private onClose: Listener | undefined = undefined;

  constructor(owner: ResponseOwner, socket: Socket, method: string, http10: boolean, keepAlive: boolean) {
    this.owner = owner;
    this.socket = socket;
    this.isHead = method === 'HEAD';
    this.http10 = http10;
    this.requestKeepAlive = keepAlive;
  }

  /** 'drain' (the socket took what was written) and 'close' (the connection went away) are what callers use. */
  on(event: 'drain' | 'close', listener: Listener): this {
    if (event === 'drain') this.onDrain = listener;
    else this.onClose = listener;
    return this;
  }

  /**
   * Serializes the head (throws on invalid names or values, before anything is written). endStream: the response
   * has no body and is finished now; otherwise the head waits for the first body write (or flushHeaders()).
   */
  writeHead(status: number, headers: HeaderList, endStream: boolean, closeConnection: boolean): void {
    if (this.headersSent) throw new Error('response head already sent');
    let head = statusLine(status);
    let hasLength = false;
    let hasDate = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      const value = headers[i + 1] as string;
      if (!TOKEN.test(name) || INVALID_VALUE.test(value)) throw new Error(`invalid response header ${name}`);
      if (name.length === 14) {
        if (name === 'content-length') hasLength = true;
      } else if (name.length === 4 && name === 'date') hasDate = true;
      head += `${name}: ${value}\r\n`;
    }
    const noBody = this.isHead || status === 204 || status === 304 || status < 200;
    let keepAlive = this.requestKeepAlive && !closeConnection && !this.owner.draining;
    if (!noBody && !hasLength) {
      if (endStream) head += 'content-length: 0\r\n';
      else if (!this.http10) {
        head += 'transfer-encoding: chunked\r\n';
        this.chunked = true;
      } else keepAlive = false;
    }
    head += keepAlive ? KEEP_ALIVE : CLOSE;
    // The origin's Date is kept (RFC 9110 §6.6.1, as Envoy does); one is added only when the response has none.
    if (!hasDate) head += date();
    head += '\r\n';
    this.noBody = noBody;
    this.keepAlive = keepAlive;
    this.headersSent = true;
    if (endStream) {
      this.finished = true;
      if (!this.socket.destroyed) this.socket.write(head, 'latin1');
      this.owner.responseFinished(this, keepAlive);
      return;
    }
    this.head = head;
  }

  /** Sends a head that is still waiting for body bytes (streaming responses must show their head at once). */
  flushHeaders(): void {
    if (this.head === '' || this.finished) return;
    const head = this.head;
    this.head = '';
    if (!this.socket.destroyed) this.socket.write(head, 'latin1');
  }

  /** Writes a body chunk; false when the caller should wait for 'drain'. */
  write(chunk: Buffer): boolean {
    if (this.finished || this.noBody || chunk.length === 0) return true;
    const prefix = this.head;
    this.head = '';
    if (this.chunked) return this.out(`${prefix}${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
    return this.out(prefix, chunk, '');
  }

  /** Finishes the response with an optional last chunk; trailers go out only on chunked bodies. */
  end(last?: Buffer, trailers?: HeaderList): void {
    if (this.finished) return;
    this.finished = true;
    let prefix = this.head;
    this.head = '';
    let body = this.noBody || last === undefined || last.length === 0 ? undefined : last;
    let suffix = '';
    if (this.chunked) {
      if (body !== undefined) prefix += `${body.length.toString(16)}\r\n`;
      suffix = body !== undefined ? '\r\n0\r\n' : '0\r\n';
      if (trailers !== undefined) {
        for (let i = 0; i < trailers.length; i += 2) {
          const name = trailers[i] as string;
          const value = trailers[i + 1] as string;
          if (TOKEN.test(name) && !INVALID_VALUE.test(value)) suffix += `${name}: ${value}\r\n`;
        }
      }
      suffix += '\r\n';
    } else if (this.noBody) body = undefined;
    if (prefix !== '' || body !== undefined || suffix !== '') this.out(prefix, body, suffix);
    this.owner.responseFinished(this, this.keepAlive);
  }

  /** Aborts the response by closing the connection. */
  destroy(): void {
    if (this.abandoned) return;
    this.finished = true;
    this.socket.destroy();
  }

  /** The connection is gone or taken over by an error reply: nothing more is written. */
  abandon(): void {
    this.abandoned = true;
    this.finished = true;
    this.headersSent = true;
  }

  drained(): void {
    this.onDrain?.call(this);
  }

  closed(): void {
    this.finished = true;
    const listener = this.onClose;
    this.onClose = undefined;
    listener?.call(this);
  }

  /** prefix (latin1) + body + suffix as one socket write. */
  private out(prefix: string, body: Buffer | undefined, suffix: string): boolean {
    const socket = this.socket;
    if (socket.destroyed) return true;
    if (body === undefined) return socket.write(prefix + suffix, 'latin1');
    if (prefix === '' && suffix === '') return socket.write(body);
    if (body.length <= COPY_LIMIT) {
      const p = prefix.length;
      const buf = Buffer.allocUnsafe(p + body.length + suffix.length);
      if (p > 0) buf.write(prefix, 0, 'latin1');
      body.copy(buf, p);
      if (suffix !== '') buf.write(suffix, p + body.length, 'latin1');
      return socket.write(buf);
    }
    socket.cork();
    if (prefix !== '') socket.write(prefix, 'latin1');
    socket.write(body);
    const ok = suffix === '' ? true : socket.write(suffix, 'latin1');
    socket.uncork();
    return ok && socket.writableLength < socket.writableHighWaterMark;
  }
}
