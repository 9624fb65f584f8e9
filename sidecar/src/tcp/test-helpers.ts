// Test helpers for real loopback sockets: listen on port 0, echo and scripted upstreams, clients that collect replies.
import { once } from 'node:events';
import net, { type Server, type Socket } from 'node:net';

/** Listens on 127.0.0.1 port 0 and resolves the bound port. */
export async function listen(server: Server, host = '127.0.0.1'): Promise<number> {
  server.listen(0, host);
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/** Closes a server and destroys every socket it accepted (tracked by trackSockets). */
export async function closeServer(server: Server | undefined): Promise<void> {
  if (server === undefined || !server.listening) return;
  const sockets = (server as Server & { tracked?: Set<Socket> }).tracked;
  for (const s of sockets ?? []) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A half-close aware server: remembers its sockets so closeServer can end them. */
export function trackedServer(onConnection: (socket: Socket) => void): Server {
  const tracked = new Set<Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    tracked.add(socket);
    socket.on('close', () => tracked.delete(socket));
    socket.on('error', () => {});
    onConnection(socket);
  });
  Object.assign(server, { tracked });
  return server;
}

/** Echo server: returns every byte, and answers a FIN with a FIN (pipe ends the writable side). */
export function echoServer(): Server {
  return trackedServer((socket) => socket.pipe(socket));
}

/** Client result: everything received until the peer's FIN, and whether the socket closed with an error. */
export interface Exchange {
  received: Buffer;
  ended: boolean;
}

/**
 * Connects, lets `script` write, and collects what comes back until the socket closes. Like a well-behaved client,
 * it ends its side once the peer's FIN arrives (after any 'end' handler the script added).
 */
export async function exchange(port: number, script: (socket: Socket) => void): Promise<Exchange> {
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  let ended = false;
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('end', () => {
    ended = true;
  });
  socket.on('error', () => {});
  socket.once('connect', () => {
    script(socket);
    socket.on('end', () => {
      if (!socket.writableEnded) socket.end();
    });
  });
  await once(socket, 'close');
  return { received: Buffer.concat(chunks), ended };
}

/** An open client connection for tests that keep it across config changes (ends its side on the peer's FIN). */
export async function openClient(port: number): Promise<{ socket: Socket; read: (n: number) => Promise<Buffer> }> {
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  socket.on('error', () => {});
  await once(socket, 'connect');
  let buffered = Buffer.alloc(0);
  let waiter: (() => void) | undefined;
  socket.on('data', (c: Buffer) => {
    buffered = Buffer.concat([buffered, c]);
    waiter?.();
  });
  socket.on('end', () => {
    if (!socket.writableEnded) socket.end();
  });
  socket.on('close', () => waiter?.());
  const read = async (n: number): Promise<Buffer> => {
    while (buffered.length < n) {
      if (socket.destroyed) throw new Error(`socket closed after ${buffered.length} of ${n} bytes`);
      await new Promise<void>((resolve) => {
        waiter = resolve;
      });
      waiter = undefined;
    }
    const out = buffered.subarray(0, n);
    buffered = buffered.subarray(n);
    return out;
  };
  return { socket, read };
}
