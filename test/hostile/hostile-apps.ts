// Apps behind the sidecars under attack: one that records the paths it was asked for, one that answers badly.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';

export interface RecordingApp {
  port: number;
  /** Paths of the requests that reached the app (the last 20,000). */
  readonly paths: string[];
  /** Requests that reached the app. */
  readonly count: number;
  close(): Promise<void>;
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closer(server: net.Server, sockets: Set<net.Socket>): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
}

function track(server: net.Server): Set<net.Socket> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}

/** An HTTP/1.1 app answering 200 `ok` to everything (after reading the body), recording each request's path. */
export async function startRecordingApp(): Promise<RecordingApp> {
  const paths: string[] = [];
  let count = 0;
  const server = http.createServer((req, res) => {
    count++;
    paths.push(req.url ?? '');
    if (paths.length > 20_000) paths.splice(0, 10_000);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(req.url);
    });
  });
  // Idle keep-alive connections from the sidecar close soon, so its pool empties soon after traffic stops.
  server.keepAliveTimeout = 5_000;
  const sockets = track(server);
  const port = await listen(server);
  return {
    port,
    paths,
    get count() {
      return count;
    },
    close: closer(server, sockets),
  };
}

export interface RawApp {
  port: number;
  close(): Promise<void>;
}

/**
 * An app that answers every request (after its head) with the given raw HTTP/1.1 response bytes, keeping the
 * connection open: for responses node's http server would never write (a header twice, say).
 */
export async function startRawApp(response: string): Promise<RawApp> {
  const server = net.createServer((s) => {
    let head = '';
    s.on('error', () => s.destroy());
    s.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      while (head.includes('\r\n\r\n')) {
        head = head.slice(head.indexOf('\r\n\r\n') + 4);
        s.write(response, 'latin1');
      }
    });
  });
  const sockets = track(server);
  const port = await listen(server);
  return { port, close: closer(server, sockets) };
}
