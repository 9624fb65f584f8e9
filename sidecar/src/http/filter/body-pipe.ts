// A response body on its way through the filters' transforms (a compressor, a cache fill) to the client, with
// backpressure both ways: a full client pauses the transforms, full transforms pause the upstream.
import { type DownstreamResponse, endWithTrailers, writeChunk } from '../downstream.ts';
import type { HeaderList } from '../header-list.ts';
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
  readonly #first: BodyTransform;
  readonly #last: BodyTransform;
  readonly #res: DownstreamResponse;
  readonly #sink: BodyPipeSink;
  #trailers: HeaderList | undefined;
  /** The client's buffer is full: the last transform is paused until it drains. */
  #waiting = false;
  #closed = false;

  constructor(transforms: readonly BodyTransform[], res: DownstreamResponse, sink: BodyPipeSink) {
    this.#transforms = transforms;
    this.#first = transforms[0] as BodyTransform;
    this.#last = transforms[transforms.length - 1] as BodyTransform;
    this.#res = res;
    this.#sink = sink;
    const failed = (): void => this.#fail();
    for (let i = 0; i < transforms.length; i++) {
      const t = transforms[i] as BodyTransform;
      t.on('error', failed);
      if (i > 0) (transforms[i - 1] as BodyTransform).pipe(t);
    }
    this.#first.on('drain', () => {
      if (!this.#closed) this.#sink.pipeDrained();
    });
    this.#last.on('data', (chunk: Buffer) => this.#output(chunk));
    this.#last.once('end', () => this.#ended());
  }

  /** An upstream body chunk; false when the upstream should pause until pipeDrained. */
  write(chunk: Buffer): boolean {
    if (this.#closed) return true;
    return this.#first.write(chunk);
  }

  /** The upstream body ended (with a last chunk and trailers, sent after the transformed body). */
  end(last: Buffer | undefined, trailers: HeaderList | undefined): void {
    if (this.#closed) return;
    this.#trailers = trailers;
    if (last !== undefined && last.length > 0) this.#first.end(last);
    else this.#first.end();
  }

  /** The stream ended otherwise (reset, timeout, client gone): every transform is released. */
  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#transforms) t.destroy();
  }

  #output(chunk: Buffer): void {
    if (this.#closed) return;
    this.#sink.pipeWritten(chunk.length);
    if (writeChunk(this.#res, chunk) || this.#waiting) return;
    this.#waiting = true;
    this.#last.pause();
    this.#sink.pipeBlocked();
  }

  /** The client took what was written: the transforms go on. */
  clientDrained(): void {
    if (!this.#waiting) return;
    this.#waiting = false;
    if (!this.#closed) this.#last.resume();
  }

  #ended(): void {
    if (this.#closed) return;
    this.#closed = true;
    endWithTrailers(this.#res, this.#trailers);
    this.#sink.pipeEnded();
  }

  #fail(): void {
    if (this.#closed) return;
    this.destroy();
    this.#sink.pipeFailed();
  }
}
