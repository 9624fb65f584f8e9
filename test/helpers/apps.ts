// Small real services for end-to-end tests: an HTTP app that reports what it saw, a WebSocket echo, a TCP echo.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { WebSocketServer } from 'ws';

export interface App {
  name: string;
  port: number;
  close(): Promise<void>;
}

/** What the HTTP app answers: who it is and what reached it. */
export interface Seen {
  app: string;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closer(server: net.Server, extra?: () => void): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      extra?.();
      server.close(() => resolve());
      if (server instanceof http.Server) server.closeAllConnections();
    });
}

/**
 * An HTTP app answering JSON {app, method, url, headers, body}; `/status/NNN` answers with that status, `/cached/…`
 * says `Cache-Control: max-age=60`.
 */
export async function startHttpApp(name: string): Promise<App> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => {
      const m = /^\/status\/(\d{3})/.exec(req.url ?? '');
      const seen: Seen = { app: name, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      const cache = req.url?.startsWith('/cached/') === true ? { 'cache-control': 'max-age=60' } : {};
      res.writeHead(m ? Number(m[1]) : 200, { 'content-type': 'application/json', 'x-app': name, ...cache });
      res.end(JSON.stringify(seen));
    });
  });
  // A WebSocket endpoint on the same port: echoes every message prefixed with the app name.
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (ws) =>
    ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `${name}: ${String(data)}`)),
  );
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await listen(server);
  return {
    name,
    port,
    close: closer(server, () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      for (const s of sockets) s.destroy();
    }),
  };
}

/** A TCP echo app: writes back every byte, ends when the peer ends (half-close aware). */
export async function startTcpEcho(name: string): Promise<App> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    s.pipe(s);
  });
  const port = await listen(server);
  return {
    name,
    port,
    close: closer(server, () => {
      for (const s of sockets) s.destroy();
    }),
  };
}
