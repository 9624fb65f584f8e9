// Test harness for the HTTP data path: hand-built listener/route config, a fake cluster lookup over real ports, a bound proxy.
import { once } from 'node:events';
import http from 'node:http';
import net, { type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import type {
  ClusterConfig,
  HashPolicy,
  HeaderMatch,
  HeaderOps,
  HttpConnectionManagerConfig,
  ListenerConfig,
  QueryMatch,
  RetryPolicy,
  Route,
  RouteConfig,
  VirtualHost,
} from '../config/model.ts';
import type { HandlerDeps } from '../listeners/connection-handler.ts';
import { Stats } from '../stats.ts';
import type { Cluster, ClusterLookup, ClusterStats } from '../upstream/cluster.ts';
import { type Host, newHostStats } from '../upstream/host.ts';
import type { PickContext } from '../upstream/load-balancer.ts';
import { createHttpHandler, type HttpConnectionManager } from './http-handler.ts';

export const NO_HEADER_OPS: HeaderOps = { add: [], remove: [] };

export interface RouteSpec {
  name?: string;
  prefix?: string;
  exact?: string;
  regex?: RegExp;
  connect?: boolean;
  ignoreCase?: boolean;
  headers?: HeaderMatch[];
  query?: QueryMatch[];
  /** One cluster, or [name, weight] pairs. */
  cluster?: string;
  clusters?: [string, number][];
  direct?: { status: number; body: string };
  prefixRewrite?: string;
  regexRewrite?: { regex: RegExp; substitution: string };
  hostRewrite?: string;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  hashPolicy?: HashPolicy[];
  upgrades?: string[];
  requestHeaders?: HeaderOps;
  responseHeaders?: HeaderOps;
}

export function route(spec: RouteSpec): Route {
  const ignoreCase = spec.ignoreCase ?? false;
  const path: Route['match']['path'] =
    spec.connect === true
      ? { kind: 'connect' }
      : spec.regex !== undefined
        ? { kind: 'regex', regex: spec.regex }
        : spec.exact !== undefined
          ? { kind: 'exact', value: spec.exact, ignoreCase }
          : { kind: 'prefix', value: spec.prefix ?? '/', ignoreCase };
  const clusters = (spec.clusters ?? [[spec.cluster ?? 'web', 1]]).map(([name, weight]) => ({ name, weight }));
  const r: Route = {
    name: spec.name ?? 'route',
    match: { path, headers: spec.headers ?? [], query: spec.query ?? [] },
    action:
      spec.direct !== undefined
        ? { type: 'direct', status: spec.direct.status, body: spec.direct.body }
        : {
            type: 'route',
            route: {
              clusters,
              totalWeight: clusters.reduce((s, c) => s + c.weight, 0),
              timeoutMs: spec.timeoutMs ?? 0,
              hashPolicy: spec.hashPolicy ?? [],
              upgrades: spec.upgrades ?? [],
            },
          },
    requestHeaders: spec.requestHeaders ?? NO_HEADER_OPS,
    responseHeaders: spec.responseHeaders ?? NO_HEADER_OPS,
  };
  if (r.action.type === 'route') {
    const a = r.action.route;
    if (spec.prefixRewrite !== undefined) a.prefixRewrite = spec.prefixRewrite;
    if (spec.regexRewrite !== undefined) a.regexRewrite = spec.regexRewrite;
    if (spec.hostRewrite !== undefined) a.hostRewrite = spec.hostRewrite;
    if (spec.retry !== undefined) {
      a.retry = { retryOn: [], numRetries: 1, perTryTimeoutMs: 0, retriableStatusCodes: [], ...spec.retry };
    }
  }
  return r;
}

export function vhost(name: string, domains: string[], routes: Route[], ops: Partial<VirtualHost> = {}): VirtualHost {
  return { name, domains, routes, requestHeaders: NO_HEADER_OPS, responseHeaders: NO_HEADER_OPS, ...ops };
}

export function routeConfig(virtualHosts: VirtualHost[], extra: Partial<RouteConfig> = {}): RouteConfig {
  return {
    name: 'routes',
    virtualHosts,
    requestHeaders: NO_HEADER_OPS,
    responseHeaders: NO_HEADER_OPS,
    internalOnlyHeaders: [],
    ...extra,
  };
}

export function hcmConfig(overrides: Partial<HttpConnectionManagerConfig> = {}): HttpConnectionManagerConfig {
  return {
    statPrefix: 'test',
    routeConfigName: 'routes',
    codec: 'auto',
    useRemoteAddress: true,
    xffNumTrustedHops: 0,
    generateRequestId: true,
    setRealIp: true,
    passThroughServerHeader: true,
    requestTimeoutMs: 0,
    streamIdleTimeoutMs: 0,
    maxRequestHeadersKb: 60,
    upgrades: [],
    ...overrides,
  };
}

export function listenerConfig(hcm: HttpConnectionManagerConfig): ListenerConfig {
  return {
    name: 'http-test',
    address: '127.0.0.1',
    port: 0,
    direction: 'outbound',
    filter: { type: 'http', http: hcm },
    version: '1',
  };
}

export class TestHost implements Host {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly weight = 1;
  readonly zone = 'z1';
  readonly priority = 0;
  healthy = true;
  readonly stats = newHostStats();

  constructor(port: number, address = '127.0.0.1') {
    this.address = address;
    this.port = port;
    this.key = `${address}:${port}`;
  }
}

/** Round-robin over healthy hosts, skipping avoided ones while another is available; a counting request breaker. */
export class TestCluster implements Cluster {
  readonly name: string;
  readonly config: ClusterConfig;
  readonly stats: ClusterStats = { upstreamRequests: 0, upstreamConnections: 0, overflow: 0, noHealthyHost: 0 };
  hostList: TestHost[];
  activeRequests = 0;
  private next = 0;

  constructor(name: string, hosts: TestHost[], config: Partial<ClusterConfig> = {}) {
    this.name = name;
    this.hostList = hosts;
    this.config = {
      name,
      discovery: 'static',
      edsServiceName: name,
      staticEndpoints: [],
      lbPolicy: 'ROUND_ROBIN',
      lbConfig: {},
      connectTimeoutMs: 1000,
      protocol: 'http1',
      circuitBreakers: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 },
      metadata: {},
      version: '1',
      ...config,
    };
  }

  pick(ctx: PickContext): Host | undefined {
    const hosts = this.hostList;
    let fallback: TestHost | undefined;
    for (let i = 0; i < hosts.length; i++) {
      const host = hosts[(this.next + i) % hosts.length] as TestHost;
      if (!host.healthy) continue;
      if (ctx.avoid?.has(host) === true) {
        fallback ??= host;
        continue;
      }
      this.next = (this.next + i + 1) % hosts.length;
      return host;
    }
    if (fallback === undefined) this.stats.noHealthyHost++;
    return fallback;
  }

  hosts(): readonly Host[] {
    return this.hostList;
  }

  tryAcquireRequest(): boolean {
    if (this.activeRequests >= this.config.circuitBreakers.maxRequests) {
      this.stats.overflow++;
      return false;
    }
    this.activeRequests++;
    return true;
  }

  releaseRequest(): void {
    this.activeRequests--;
  }
}

export class TestClusters implements ClusterLookup {
  readonly clusters = new Map<string, TestCluster>();
  private readonly removedListeners = new Set<(cluster: string, hosts: readonly Host[]) => void>();

  /** Adds a cluster over 127.0.0.1 ports. */
  add(name: string, ports: number[], config: Partial<ClusterConfig> = {}): TestCluster {
    const cluster = new TestCluster(
      name,
      ports.map((p) => new TestHost(p)),
      config,
    );
    this.clusters.set(name, cluster);
    return cluster;
  }

  get(name: string): Cluster | undefined {
    return this.clusters.get(name);
  }

  /** Takes hosts out of a cluster and announces it, like an EDS update would. */
  removeHosts(name: string, ports: number[]): void {
    const cluster = this.clusters.get(name);
    if (cluster === undefined) return;
    const removed = cluster.hostList.filter((h) => ports.includes(h.port));
    cluster.hostList = cluster.hostList.filter((h) => !ports.includes(h.port));
    for (const l of this.removedListeners) l(name, removed);
  }

  onHostsRemoved(listener: (cluster: string, hosts: readonly Host[]) => void): () => void {
    this.removedListeners.add(listener);
    return () => this.removedListeners.delete(listener);
  }
}

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
): Promise<ProxyUnderTest> {
  let current = routes;
  const stats = new Stats();
  const deps: HandlerDeps = {
    clusters,
    routeConfig: (name) => (name === current.name ? current : undefined),
    stats,
    logger: pino({ level: 'silent' }),
  };
  const handler = createHttpHandler(listenerConfig(hcmConfig(hcm)), deps) as HttpConnectionManager;
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

export interface SimpleResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request over a fresh connection (no keep-alive) to the proxy. */
export function send(
  port: number,
  path: string,
  init: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer } = {},
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Writes raw bytes on a new connection and resolves everything received once `done(received)` holds or the peer closes. */
export function rawExchange(
  port: number,
  bytes: string | Buffer,
  done?: (received: string) => boolean,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      received += d;
      if (done?.(received) === true) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

/** Parses the JSON an echoHandler upstream answered with. */
export function echoed(res: SimpleResponse): {
  backend: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
} {
  return JSON.parse(res.body) as {
    backend: string;
    method: string;
    url: string;
    headers: Record<string, string>;
    body: string;
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Splits a byte stream of HTTP/1.1 responses (Content-Length or chunked bodies) into responses. */
export function parseRawResponses(raw: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = raw;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const lines = rest.slice(0, end).split('\r\n');
    const status = Number((lines[0] as string).split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    rest = rest.slice(end + 4);
    let body = '';
    if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const nl = rest.indexOf('\r\n');
        const size = Number.parseInt(rest.slice(0, nl), 16);
        rest = rest.slice(nl + 2);
        if (size === 0) {
          rest = rest.slice(rest.indexOf('\r\n') + 2);
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else {
      const len = Number(headers['content-length'] ?? (status === 101 ? 0 : rest.length));
      body = rest.slice(0, len);
      rest = rest.slice(len);
    }
    out.push({ status, headers, body });
  }
  return out;
}
