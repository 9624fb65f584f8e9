// Raw HTTP/1.1 attack connections: send exact bytes from the attacker address, collect what comes back until close.
import net from 'node:net';
import { ATTACKER_ADDRESS } from './raw-h2.ts';

export interface RawReply {
  /** Everything the server sent (latin1). */
  text: string;
  /** Status codes of the response heads in `text`, in order. */
  statuses: number[];
  /** The server closed the connection (false: we gave up after the timeout). */
  closedByServer: boolean;
  elapsedMs: number;
}

/** Connects from the attacker address; resolves once connected. */
export function connectRaw(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: ATTACKER_ADDRESS });
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
  });
}

export function statusesOf(text: string): number[] {
  return [...text.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
}

/** Sends `bytes` (and keeps the connection open) and collects the reply until the server closes or `timeoutMs`. */
export async function rawExchange(port: number, bytes: string | Buffer, timeoutMs = 5_000): Promise<RawReply> {
  const start = Date.now();
  const s = await connectRaw(port);
  return new Promise((resolve) => {
    let text = '';
    let closedByServer = false;
    const timer = setTimeout(() => s.destroy(), timeoutMs);
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
    });
    s.once('end', () => {
      closedByServer = true;
      s.destroy();
    });
    s.once('close', () => {
      clearTimeout(timer);
      closedByServer ||= Date.now() - start < timeoutMs;
      resolve({ text, statuses: statusesOf(text), closedByServer, elapsedMs: Date.now() - start });
    });
    s.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  });
}
