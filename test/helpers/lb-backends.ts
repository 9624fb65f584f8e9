// HTTP backends that fail on purpose for load-balancing and resilience tests: stop, restart on the same port, 503, hold.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type BackendMode = 'ok' | '503' | 'slow';

export interface Backend {
  readonly name: string;
  readonly port: number;
  /** Requests seen since the last reset. */
  hits: number;
  /** Requests whose x-request-id was seen before (retries of a request), and the most in flight at once. */
  retryHits: number;
  maxRetriesInFlight: number;
  mode: BackendMode;
  /** How long 'slow' and '503' answers wait (ms). */
  delayMs: number;
  reset(): void;
  /** Closes the listener and every connection (the host is down). */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  revive(): Promise<void>;
  close(): Promise<void>;
}

/** Shared across backends of one test: request ids already seen (a second sighting is a retry). */
export class RetryTracker {
  readonly seen = new Set<string>();
  inFlight = 0;
  max = 0;
}

export async function startBackend(name: string, tracker?: RetryTracker, port = 0): Promise<Backend> {
  const sockets = new Set<Socket>();
  let server: http.Server | undefined;
  const backend: Backend = {
    name,
    port,
    hits: 0,
    retryHits: 0,
    maxRetriesInFlight: 0,
    mode: 'ok',
    delayMs: 0,
    reset() {
      backend.hits = 0;
      backend.retryHits = 0;
      backend.maxRetriesInFlight = 0;
    },
    async kill() {
      const s = server;
      server = undefined;
      if (s === undefined) return;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        for (const c of sockets) c.destroy();
      });
    },
    async revive() {
      await listen();
    },
    async close() {
      await backend.kill();
    },
  };
  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    backend.hits++;
    const id = String(req.headers['x-request-id'] ?? '');
    const retry = tracker !== undefined && id !== '' && tracker.seen.has(id);
    if (tracker !== undefined && id !== '') tracker.seen.add(id);
    if (retry && tracker !== undefined) {
      backend.retryHits++;
      tracker.inFlight++;
      tracker.max = Math.max(tracker.max, tracker.inFlight);
      res.on('close', () => tracker.inFlight--);
    }
    req.resume();
    const answer = (): void => {
      if (backend.mode === '503') {
        res.writeHead(503, { 'x-backend': name });
        res.end('unavailable');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': name });
      res.end(name);
    };
    if (backend.mode === 'ok') req.on('end', answer);
    else setTimeout(answer, backend.delayMs);
  };
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = http.createServer({ keepAliveTimeout: 60_000 }, handle);
      s.on('connection', (c: Socket) => {
        sockets.add(c);
        c.on('close', () => sockets.delete(c));
      });
      s.once('error', reject);
      s.listen(backend.port, '127.0.0.1', () => {
        (backend as { port: number }).port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });
  await listen();
  return backend;
}
