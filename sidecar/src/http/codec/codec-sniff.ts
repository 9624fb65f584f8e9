// Tells HTTP/2 prior-knowledge (h2c) connections from HTTP/1.1 by their first bytes, then hands the socket on unread.
import type { Socket } from 'node:net';

export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * Reads until the first bytes either diverge from the HTTP/2 connection preface or complete it, pushes them back
 * (unshift) and calls `decide`. A connection that closes, or has not told within `timeoutMs` of its start (a deadline:
 * a preface trickled a byte at a time does not extend it), is destroyed.
 */
export function sniffCodec(socket: Socket, timeoutMs: number, decide: (socket: Socket, isH2: boolean) => void): void {
  let buffered: Buffer | undefined;
  const cleanup = (): void => {
    socket.off('data', onData);
    socket.off('end', onGone);
    socket.off('error', onGone);
    clearTimeout(timer);
  };
  const onGone = (): void => {
    cleanup();
    socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    const data = buffered === undefined ? chunk : Buffer.concat([buffered, chunk]);
    const n = Math.min(data.length, H2_PREFACE.length);
    const isPrefix = data.compare(H2_PREFACE, 0, n, 0, n) === 0;
    if (isPrefix && n < H2_PREFACE.length) {
      buffered = data;
      return;
    }
    cleanup();
    socket.pause();
    socket.unshift(data);
    decide(socket, isPrefix);
  };
  socket.on('data', onData);
  socket.once('end', onGone);
  socket.once('error', onGone);
  const timer = setTimeout(onGone, timeoutMs);
}
