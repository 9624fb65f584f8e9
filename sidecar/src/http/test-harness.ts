// Test harness for the HTTP data path: binds a handler on 127.0.0.1:0 in front of hand-built routes and real upstreams.
import { once } from 'node:events';
import http from 'node:http';
import net, { type Server } from 'node:net';
import { pino } from 'pino';
import { Stats } from '../common/stats.ts';
import type { HttpConnectionManagerConfig, ListenerConfig, RouteConfig } from '../config/model.ts';
import type { ExchangeObserverFactory } from './context/exchange-observer.ts';
import type { HttpDeps } from './context/http-deps.ts';
import type { HttpFilterRegistry } from './filter/registry.ts';
import { type HttpConnectionManager, httpHandlerFactory } from './http-handler.ts';
import type { TestClusters } from './test-clusters.ts';
import { hcmConfig, listenerConfig } from './test-config.ts';

export { echoed, parseRawResponses, type RawResponse, rawExchange, type SimpleResponse, send } from './test-clients.ts';
export { TestCluster, TestClusters, TestHost } from './test-clusters.ts';
export { hcmConfig, listenerConfig, NO_HEADER_OPS, type RouteSpec, route, routeConfig, vhost } from './test-config.ts';

export interface ProxyUnderTest {
  port: number;
  handler: HttpConnectionManager;
  stats: Stats;
  clusters: TestClusters;
  /** Swaps the RDS route config the handler reads. */
  setRoutes(routes: RouteConfig): void;
  close(): Promise<void>;
}

/** Binds `net.createServer(socket => handler.handle(socket))` on 127.0.0.1 port 0 in front of the given routes. */
export async function startProxy(
  routes: RouteConfig,
  clusters: TestClusters,
  hcm: Partial<HttpConnectionManagerConfig> = {},
  observers?: readonly ExchangeObserverFactory[],
  listener: Partial<ListenerConfig> = {},
  httpFilters?: HttpFilterRegistry,
): Promise<ProxyUnderTest> {
  let current = routes;
  const stats = new Stats();
  const deps: HttpDeps = {
    clusters,
    routeConfig: (name) => (name === current.name ? current : undefined),
    stats,
    logger: pino({ level: 'silent' }),
  };
  if (observers !== undefined) deps.observers = observers;
  const handler = httpHandlerFactory(httpFilters)(
    { ...listenerConfig(hcmConfig(hcm)), ...listener },
    deps,
  ) as HttpConnectionManager;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => handler.handle(socket));
  const port = await listen(server);
  return {
    port,
    handler,
    stats,
    clusters,
    setRoutes: (r) => {
      current = r;
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await handler.drain(0);
      await closed;
    },
  };
}

/** Resolves once check() holds, polling every couple of milliseconds (bounded by the test's timeout). */
export async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 2));
}

export async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/** A real HTTP/1.1 upstream; closing it also destroys its keep-alive connections. */
export async function startHttpUpstream(
  handler: http.RequestListener,
): Promise<{ port: number; server: http.Server; close(): Promise<void> }> {
  const server = http.createServer(handler);
  const port = await listen(server);
  return {
    port,
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An upstream answering every request with JSON describing it (who answered, method, url, headers). */
export function echoHandler(name: string): http.RequestListener {
  return (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => {
      const payload = JSON.stringify({ backend: name, method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name });
      res.end(payload);
    });
  };
}
