// A response body on its way through the filters' transforms (a compressor, a cache fill) to the client: a body that
// arrives whole with its end goes through their `whole` fast path; otherwise it streams, with backpressure both
// ways: a full client pauses the transforms, full transforms pause the upstream.
import type { Transform } from 'node:stream';
import type { DownstreamEncoder } from '../codec/downstream.ts';
import type { HeaderList } from '../message/header-list.ts';
import type { BodyTransform } from './filter.ts';

/** What the pipe tells the stream that owns it. */
export interface BodyPipeSink {
  /** The transforms can take more: the upstream may go on. */
  pipeDrained(): void;
  /** Bytes that went to the client (after every transform). */
  pipeWritten(bytes: number): void;
  /** The client's buffer is full: call clientDrained() on the response's next 'drain'. */
  pipeBlocked(): void;
  /** The last transformed byte and the trailers went out: the response is complete. */
  pipeEnded(): void;
  /** A transform failed: the response cannot be completed. */
  pipeFailed(): void;
}

export class ResponseBodyPipe {
  readonly #transforms: readonly BodyTransform[];
  readonly #enc: DownstreamEncoder;
  readonly #sink: BodyPipeSink;
  /** The streams, once the body streams (the first chunk came before the end). */
  #first: Transform | undefined;
  #last: Transform | undefined;
  #trailers: HeaderList | undefined;
  /** The client's buffer is full: the last stream is paused until it drains. */
  #waiting = false;
  #closed = false;

  constructor(transforms: readonly BodyTransform[], enc: DownstreamEncoder, sink: BodyPipeSink) {
    this.#transforms = transforms;
    this.#enc = enc;
    this.#sink = sink;
  }

  /** An upstream body chunk; false when the upstream should pause until pipeDrained. */
  write(chunk: Buffer): boolean {
    if (this.#closed) return true;
    return this.#streams(0).write(chunk);
  }

  /** The upstream body ended (with a last chunk and trailers, sent after the transformed body). */
  end(last: Buffer | undefined, trailers: HeaderList | undefined): void {
    if (this.#closed) return;
    this.#trailers = trailers;
    let body = last ?? Buffer.alloc(0);
    let from = 0;
    if (this.#first === undefined) {
      // The whole body is here: each transform that can takes it at once; the rest stream it.
      for (; from < this.#transforms.length; from++) {
        const whole = (this.#transforms[from] as BodyTransform).whole?.(body);
        if (whole === undefined) break;
        body = whole;
      }
      if (from === this.#transforms.length) {
        this.#closed = true;
        this.#sink.pipeWritten(body.length);
        this.#enc.end(trailers, body.length > 0 ? body : undefined);
        this.#sink.pipeEnded();
        return;
      }
    }
    const first = this.#streams(from);
    if (body.length > 0) first.end(body);
    else first.end();
  }

  /** The stream ended otherwise (reset, timeout, client gone): every transform is released. */
  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#transforms) t.destroy();
  }

  /** The client took what was written: the streams go on. */
  clientDrained(): void {
    if (!this.#waiting) return;
    this.#waiting = false;
    if (!this.#closed) this.#last?.resume();
  }

  /** The streams of transforms `from`… piped together (made on first use). */
  #streams(from: number): Transform {
    if (this.#first !== undefined) return this.#first;
    const streams = this.#transforms.slice(from).map((t) => t.stream());
    const failed = (): void => this.#fail();
    for (let i = 0; i < streams.length; i++) {
      const s = streams[i] as Transform;
      s.on('error', failed);
      if (i > 0) (streams[i - 1] as Transform).pipe(s);
    }
    const first = streams[0] as Transform;
    const last = streams[streams.length - 1] as Transform;
    first.on('drain', () => {
      if (!this.#closed) this.#sink.pipeDrained();
    });
    last.on('data', (chunk: Buffer) => this.#output(chunk));
    last.once('end', () => this.#ended());
    this.#first = first;
    this.#last = last;
    return first;
  }

  #output(chunk: Buffer): void {
    if (this.#closed) return;
    this.#sink.pipeWritten(chunk.length);
    if (this.#enc.write(chunk) || this.#waiting) return;
    this.#waiting = true;
    this.#last?.pause();
    this.#sink.pipeBlocked();
  }

  #ended(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#enc.end(this.#trailers);
    this.#sink.pipeEnded();
  }

  #fail(): void {
    if (this.#closed) return;
    this.destroy();
    this.#sink.pipeFailed();
  }
}
