// Request bodies read before the upstream call (bounded per request and process-wide), replayable for retries.
import { PassThrough, Readable } from 'node:stream';

/**
 * Bodies up to this size are read whole before the request goes upstream (as nginx buffers request bodies: a slow
 * client holds no upstream connection or breaker slot) and are kept for retries; larger ones are streamed once.
 * 1 MiB: nginx's client_max_body_size and Envoy's default buffer for retries (per_connection_buffer_limit_bytes). To
 * hold a breaker slot with a slow upload, a client must first send more than this (or the budget must be spent).
 */
export const REQUEST_BUFFER_LIMIT = 1024 * 1024;

/** Bytes of request bodies held in memory by the whole process; past the maximum, bodies stream instead. */
export class BufferBudget {
  used = 0;
  readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  take(n: number): boolean {
    if (this.used + n > this.max) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

/** The process-wide budget: 64 MiB of request bodies held at once (64 full buffers; trickled bodies hold little). */
export const requestBufferBudget = new BufferBudget(64 * 1024 * 1024);

/**
 * What buffering ended with: the whole body (replayable; `held` bytes of the budget to give back when the request
 * ends), or a one-shot stream of it (too large, or the budget was spent: what was read, then the rest).
 */
export type BufferedBody =
  | { replayable: true; chunks: readonly Buffer[]; held: number }
  | { replayable: false; stream: Readable };

/** A fresh stream over a buffered body, one per attempt. */
export function replayBody(chunks: readonly Buffer[]): Readable {
  return Readable.from(chunks, { objectMode: false });
}

/**
 * Reads `body` until it ends within `limit` bytes (→ its chunks) or exceeds it or the budget (→ a stream that replays
 * what was read and then the rest of the body, with backpressure). With `skipWhenLarger`, a declared Content-Length
 * above the limit streams at once (retry buffering: such a body is never replayed); without it, the first `limit`
 * bytes are read first whatever the declared length (a slow client must send that much before anything upstream is
 * held). `done` is called at most once. Returns a cancel function for a request that goes away while its body is
 * read: it stops listening and gives back what was taken from the budget (a no-op once done was called).
 */
export function bufferBody(
  body: Readable,
  contentLength: number | undefined,
  done: (result: BufferedBody) => void,
  limit = REQUEST_BUFFER_LIMIT,
  budget: BufferBudget = requestBufferBudget,
  skipWhenLarger = true,
): () => void {
  if (skipWhenLarger && contentLength !== undefined && contentLength > limit) {
    done({ replayable: false, stream: body });
    return noop;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let held = 0;
  let settled = false;
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    size += chunk.length;
    if (size <= limit && budget.take(chunk.length)) {
      held += chunk.length;
      return;
    }
    detach();
    body.pause();
    const stream = new PassThrough();
    for (const c of chunks) stream.write(c);
    body.pipe(stream);
    done({ replayable: false, stream });
  };
  const onEnd = (): void => {
    detach();
    done({ replayable: true, chunks, held });
  };
  const detach = (): void => {
    settled = true;
    body.off('data', onData);
    body.off('end', onEnd);
    // Streamed: what was held now belongs to the stream, which drains it.
    if (held > 0 && size > held) {
      budget.give(held);
      held = 0;
    }
  };
  body.on('data', onData);
  body.on('end', onEnd);
  return () => {
    if (settled) return;
    detach();
    budget.give(held);
    held = 0;
  };
}

function noop(): void {}

/** What an owner of a body read keeps: the read in progress (its cancel) and the budget bytes its chunks hold. */
export interface BodyHold {
  cancelBuffering: (() => void) | undefined;
  heldBytes: number;
}

/** Stops a read in progress and gives back what the body holds of the process-wide budget. */
export function releaseBodyHold(hold: BodyHold): void {
  const cancel = hold.cancelBuffering;
  if (cancel !== undefined) {
    hold.cancelBuffering = undefined;
    cancel();
  }
  if (hold.heldBytes > 0) {
    requestBufferBudget.give(hold.heldBytes);
    hold.heldBytes = 0;
  }
}
