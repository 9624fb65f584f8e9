// One gRPC bidi call over node:http2 and nothing else (no channel, resolver, balancer or interceptors): the
// simulator's transport, so 10,000 real ADS streams cost the simulator's one core as little as they can.
import http2 from 'node:http2';

export interface CallEvents {
  /** One length-prefixed gRPC message (a view into the received bytes; valid only during the call). */
  message(b: Buffer): void;
  /** The call ended without cancel(): the server's grpc-status, or 14 (UNAVAILABLE) when the connection broke. */
  status(code: number, details: string): void;
}

const UNAVAILABLE = 14;
const HEADER = 5;

export class H2Call {
  readonly #session: http2.ClientHttp2Session;
  readonly #stream: http2.ClientHttp2Stream;
  readonly #events: CallEvents;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #done = false;

  /** Opens a connection of its own to authority (host:port) and one call of path on it. */
  constructor(authority: string, path: string, windowBytes: number, events: CallEvents) {
    this.#events = events;
    this.#session = http2.connect(`http://${authority}`, { settings: { initialWindowSize: windowBytes } });
    this.#session.on('connect', () => {
      if (!this.#session.destroyed) this.#session.setLocalWindowSize(windowBytes);
    });
    this.#session.on('error', (err) => this.#end(UNAVAILABLE, err.message));
    this.#session.on('close', () => this.#end(UNAVAILABLE, 'connection closed'));
    this.#stream = this.#session.request(
      { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' },
      { endStream: false },
    );
    const s = this.#stream;
    s.on('response', (headers) => {
      // A trailers-only response carries grpc-status in the headers.
      if (headers['grpc-status'] !== undefined) this.#statusFrom(headers);
    });
    s.on('trailers', (trailers) => this.#statusFrom(trailers));
    s.on('data', (chunk: Buffer) => this.#onChunk(chunk));
    s.on('error', (err) => this.#end(UNAVAILABLE, err.message));
    s.on('close', () => this.#end(UNAVAILABLE, `stream closed (RST_STREAM ${s.rstCode})`));
  }

  /** Sends one message (uncompressed, length-prefixed). */
  write(message: Uint8Array): void {
    if (this.#done) return;
    const framed = Buffer.allocUnsafe(HEADER + message.length);
    framed[0] = 0;
    framed.writeUInt32BE(message.length, 1);
    framed.set(message, HEADER);
    this.#stream.write(framed);
  }

  /** Ends the call and its connection; no status event follows. */
  cancel(): void {
    this.#done = true;
    this.#stream.close(http2.constants.NGHTTP2_CANCEL);
    this.#session.destroy();
  }

  #statusFrom(h: http2.IncomingHttpHeaders): void {
    const code = Number(h['grpc-status']);
    const message = h['grpc-message'];
    this.#end(
      Number.isFinite(code) ? code : UNAVAILABLE,
      typeof message === 'string' ? decodeURIComponent(message) : '',
    );
  }

  #end(code: number, details: string): void {
    if (this.#done) return;
    this.#done = true;
    this.#session.destroy();
    this.#events.status(code, details);
  }

  #onChunk(chunk: Buffer): void {
    if (this.#done) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    while (this.#buffered >= HEADER) {
      let head = this.#chunks[0]!;
      if (head.length < HEADER) head = this.#gather(HEADER);
      const length = head.readUInt32BE(1);
      if (head[0] !== 0) {
        this.#end(UNAVAILABLE, 'compressed message (not requested)');
        return;
      }
      if (this.#buffered < HEADER + length) return;
      // The common case for small messages is one chunk; a large one is gathered once.
      if (head.length < HEADER + length) head = this.#gather(HEADER + length);
      const message = head.subarray(HEADER, HEADER + length);
      this.#consume(HEADER + length);
      this.#events.message(message);
      if (this.#done) return;
    }
  }

  /** Merges the first chunks until the first holds at least n bytes (one copy) and returns it. */
  #gather(n: number): Buffer {
    let k = 0;
    let have = 0;
    while (have < n) have += this.#chunks[k++]!.length;
    const merged = Buffer.concat(this.#chunks.slice(0, k), have);
    this.#chunks.splice(0, k, merged);
    return merged;
  }

  #consume(n: number): void {
    this.#buffered -= n;
    let head = this.#chunks[0]!;
    while (n > 0) {
      if (head.length <= n) {
        n -= head.length;
        this.#chunks.shift();
        head = this.#chunks[0]!;
      } else {
        this.#chunks[0] = head.subarray(n);
        n = 0;
      }
    }
  }
}
