// A downstream HTTP/1.1 request: its parsed head, and (only when one follows) its body as a Readable fed by the
// connection with backpressure: bodiless requests, most of them, build no stream.
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { RequestHeadFields } from './h1-server-parser.ts';

/** What the request body asks of its connection: more bytes after a full buffer was read. */
export interface BodySource {
  resumeBody(): void;
}

/** The body of a request, pushed by the connection; 'aborted' then close when the connection goes away mid-body. */
export class H1RequestBody extends Readable {
  private readonly source: BodySource;

  constructor(source: BodySource) {
    super();
    this.source = source;
  }

  override _read(): void {
    this.source.resumeBody();
  }
}

export class H1ServerRequest implements RequestHeadFields {
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
  /** The body stream, when the head announced a body (Content-Length > 0 or chunked). */
  body: H1RequestBody | undefined = undefined;
  readonly socket: Socket;

  constructor(socket: Socket) {
    this.socket = socket;
  }

  /** The connection went away mid-body: consumers hear 'aborted' (as from IncomingMessage), then the stream closes. */
  abort(): void {
    const body = this.body;
    if (this.complete || body === undefined || body.destroyed) return;
    body.emit('aborted');
    body.destroy();
  }
}
