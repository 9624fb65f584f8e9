// Request bodies of retriable requests buffered up to a bound, so every attempt can send them again.
import { PassThrough, Readable } from 'node:stream';

/** Bodies up to this size are buffered for retries; larger ones are streamed once and never retried. */
export const RETRY_BUFFER_LIMIT = 64 * 1024;

/** What buffering ended with: the whole body (replayable), or a one-shot stream of it (too large to replay). */
export type BufferedBody = { replayable: true; chunks: readonly Buffer[] } | { replayable: false; stream: Readable };

/** A fresh stream over a buffered body, one per attempt. */
export function replayBody(chunks: readonly Buffer[]): Readable {
  return Readable.from(chunks, { objectMode: false });
}

/**
 * Reads `body` until it ends within `limit` bytes (→ its chunks) or exceeds it (→ a stream that replays what was read
 * and then the rest of the body, with backpressure). A declared Content-Length above the limit skips buffering.
 * `done` is called once; the caller stops caring (and the stream is left alone) when the request went away.
 */
export function bufferBody(
  body: Readable,
  contentLength: number | undefined,
  done: (result: BufferedBody) => void,
  limit = RETRY_BUFFER_LIMIT,
): void {
  if (contentLength !== undefined && contentLength > limit) {
    done({ replayable: false, stream: body });
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    size += chunk.length;
    if (size <= limit) return;
    detach();
    body.pause();
    const stream = new PassThrough();
    for (const c of chunks) stream.write(c);
    body.pipe(stream);
    done({ replayable: false, stream });
  };
  const onEnd = (): void => {
    detach();
    done({ replayable: true, chunks });
  };
  const detach = (): void => {
    body.off('data', onData);
    body.off('end', onEnd);
  };
  body.on('data', onData);
  body.on('end', onEnd);
}
