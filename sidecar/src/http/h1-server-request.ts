// A downstream HTTP/1.1 request: its parsed head, and its body as a Readable fed by the connection (with backpressure).
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { RequestHeadFields } from './h1-server-parser.ts';

/** What the request asks of its connection: more body bytes after a full buffer was read. */
export interface BodySource {
  resumeBody(): void;
}

export class H1ServerRequest extends Readable implements RequestHeadFields {
  method = '';
  url = '';
  httpVersion = '1.1';
  rawHeaders: string[] = [];
  keepAlive = true;
  contentLength = -1;
  chunked = false;
  upgrade = false;
  expectContinue = false;
  /** True once the whole body was received (at once for bodiless requests). */
  complete = false;
  readonly socket: Socket;
  private readonly source: BodySource;

  constructor(socket: Socket, source: BodySource) {
    super();
    this.socket = socket;
    this.source = source;
  }

  /** True when no body follows the head. */
  get bodiless(): boolean {
    return !this.chunked && this.contentLength <= 0;
  }

  override _read(): void {
    this.source.resumeBody();
  }

  /** The connection went away mid-body: consumers hear 'aborted' (as from IncomingMessage), then the stream closes. */
  abort(): void {
    if (this.complete || this.destroyed) return;
    this.emit('aborted');
    this.destroy();
  }
}
