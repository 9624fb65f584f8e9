// The control plane's metrics port: GET /metrics (Prometheus text) and GET /healthz, nothing else.

import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { http } from '../common/node-http.ts';
import type { ControlPlaneMetrics } from './metrics.ts';

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  metrics: ControlPlaneMetrics;
  host: string;
  /** 0 picks a free port. */
  port: number;
  logger: Logger;
}

/** Binds host:port and serves until close(); rejects naming the address when it cannot bind. */
export function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const { metrics, logger } = opts;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
      return;
    }
    metrics.render().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (err: unknown) => {
        logger.error({ err }, 'rendering metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on ${opts.host}:${opts.port}: ${err.message}`)));
    server.listen(opts.port, opts.host, () => {
      const port = (server.address() as AddressInfo).port;
      logger.info({ host: opts.host, port }, 'metrics listening');
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
