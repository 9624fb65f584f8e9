// HTTP/1.1 responses written straight onto a socket: malformed requests, upgrades and CONNECT tunnels (no ServerResponse there).
import { http } from '../../common/node-http.ts';

const { STATUS_CODES } = http;

import type { Socket } from 'node:net';
import type { HeaderList } from './header-list.ts';

/** Serializes a status line and headers (lower-case names are fine on the wire). */
export function rawHead(status: number, headers: HeaderList): string {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}\r\n`;
}

/** Writes a complete response that closes the connection, then closes the socket once flushed. */
export function writeRawResponse(socket: Socket, status: number, headers: HeaderList, body: string | Buffer): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  headers.push('content-length', String(Buffer.byteLength(body)), 'connection', 'close');
  const head = rawHead(status, headers);
  socket.end(typeof body === 'string' ? head + body : Buffer.concat([Buffer.from(head), body]), () => socket.destroy());
}
