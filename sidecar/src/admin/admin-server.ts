// The admin HTTP server (127.0.0.1:15000 by default): readiness, health, config dump, clusters, stats, drain.
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { ListenerStatus } from '../listeners/active-listener.ts';
import type { Stats } from '../stats.ts';
import type { Cluster } from '../upstream/cluster.ts';
import { clustersJson, clustersText } from './clusters-page.ts';
import { prometheusText, type StatScopes } from './prometheus.ts';

/** Envoy's server states, as /ready reports them. */
export type ServerState = 'LIVE' | 'PRE_INITIALIZING' | 'INITIALIZING' | 'DRAINING';

const STATE_GAUGE: Record<ServerState, number> = { LIVE: 0, DRAINING: 1, PRE_INITIALIZING: 2, INITIALIZING: 3 };

/** What the admin pages read from the rest of the sidecar. */
export interface AdminDeps {
  stats: Stats;
  clusters(): readonly Cluster[];
  listeners(): ListenerStatus[];
  /** The xDS client's dump (resources, versions, NACKs). */
  configDump(): unknown;
  state(): ServerState;
  /** Names with dots in them, for Prometheus labels. */
  statScopes(): StatScopes;
  /** Starts draining (POST /drain). */
  drain(): void;
  logger: Logger;
}

interface Page {
  method: 'GET' | 'POST';
  help: string;
  serve(req: IncomingMessage, url: URL, res: ServerResponse): void;
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-cache',
  });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, `${JSON.stringify(value, jsonReplacer, 2)}\n`, 'application/json');
}

/** JSON for dumps that may hold bigint, RegExp, Map or Uint8Array values. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof RegExp) return value.source;
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}

export class AdminServer {
  private readonly deps: AdminDeps;
  private readonly server: http.Server;
  private readonly pages: ReadonlyMap<string, Page>;
  private readonly startedAt = Date.now();

  constructor(deps: AdminDeps) {
    this.deps = deps;
    this.pages = this.buildPages();
    this.server = http.createServer({ requireHostHeader: false }, this.onRequest);
  }

  /** Binds (port 0 = any) and resolves the bound address; a bind error rejects. */
  async listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    this.server.listen(port, host);
    await once(this.server, 'listening');
    return this.server.address() as AddressInfo;
  }

  port(): number | undefined {
    const a = this.server.address();
    return a !== null && typeof a === 'object' ? a.port : undefined;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  /** Counters and gauges, plus the server and listener gauges the admin computes on demand. */
  statsSnapshot(): { counters: [string, number][]; gauges: [string, number][] } {
    const snap = this.deps.stats.snapshot();
    const extra: [string, number][] = [
      ['server.state', STATE_GAUGE[this.deps.state()]],
      ['server.live', this.deps.state() === 'LIVE' ? 1 : 0],
      ['server.uptime', Math.floor((Date.now() - this.startedAt) / 1000)],
    ];
    for (const l of this.deps.listeners()) {
      const scope = `listener.${l.address}_${l.boundPort ?? l.port}`;
      extra.push([`${scope}.downstream_cx_active`, l.activeConnections]);
    }
    const gauges = [...snap.gauges, ...extra].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return { counters: snap.counters, gauges };
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const page = this.pages.get(url.pathname);
    if (page === undefined) {
      send(res, 404, `not found: ${url.pathname} (GET / lists the admin endpoints)\n`);
      return;
    }
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (method !== page.method) {
      res.setHeader('allow', page.method);
      send(res, 405, `method not allowed: use ${page.method} ${url.pathname}\n`);
      return;
    }
    try {
      page.serve(req, url, res);
    } catch (err) {
      this.deps.logger.error({ err, path: url.pathname }, 'admin page failed');
      if (!res.headersSent) send(res, 500, `${err instanceof Error ? err.message : String(err)}\n`);
      else res.destroy();
    }
  };

  private buildPages(): Map<string, Page> {
    const d = this.deps;
    const pages = new Map<string, Page>();
    pages.set('/', {
      method: 'GET',
      help: 'this list',
      serve: (_req, _url, res) => {
        const lines = [...pages].map(([path, p]) => `${p.method.padEnd(5)} ${path.padEnd(18)} ${p.help}`);
        send(res, 200, `trellis sidecar admin\n\n${lines.join('\n')}\n`);
      },
    });
    pages.set('/ready', {
      method: 'GET',
      help: '200 LIVE once config is applied and listeners are bound; 503 before and while draining',
      serve: (_req, _url, res) => {
        const state = d.state();
        send(res, state === 'LIVE' ? 200 : 503, `${state}\n`);
      },
    });
    pages.set('/healthz', {
      method: 'GET',
      help: '200 while the process runs',
      serve: (_req, _url, res) => send(res, 200, 'OK\n'),
    });
    pages.set('/config_dump', {
      method: 'GET',
      help: 'xDS resources and versions (JSON), plus listener status',
      serve: (_req, _url, res) =>
        sendJson(res, 200, { state: d.state(), xds: d.configDump(), listeners: d.listeners() }),
    });
    pages.set('/listeners', {
      method: 'GET',
      help: 'listener status (JSON): address, bound port, state, active connections',
      serve: (_req, _url, res) => sendJson(res, 200, { listeners: d.listeners() }),
    });
    pages.set('/clusters', {
      method: 'GET',
      help: 'upstream clusters and hosts (text; ?format=json)',
      serve: (_req, url, res) => {
        if (url.searchParams.get('format') === 'json') sendJson(res, 200, clustersJson(d.clusters()));
        else send(res, 200, clustersText(d.clusters()));
      },
    });
    pages.set('/stats', {
      method: 'GET',
      help: 'counters and gauges as `name: value` (?filter=REGEX, ?format=json)',
      serve: (_req, url, res) => this.serveStats(url, res),
    });
    pages.set('/stats/prometheus', {
      method: 'GET',
      help: 'the same in Prometheus text exposition format',
      serve: (_req, _url, res) =>
        send(
          res,
          200,
          prometheusText(this.statsSnapshot(), d.statScopes()),
          'text/plain; version=0.0.4; charset=utf-8',
        ),
    });
    pages.set('/drain', {
      method: 'POST',
      help: 'start draining: listeners stop accepting, /ready turns 503',
      serve: (_req, _url, res) => {
        d.logger.info('drain requested on the admin port');
        d.drain();
        send(res, 200, 'OK\n');
      },
    });
    return pages;
  }

  private serveStats(url: URL, res: ServerResponse): void {
    const snap = this.statsSnapshot();
    let entries = [...snap.counters, ...snap.gauges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const filter = url.searchParams.get('filter');
    if (filter !== null && filter !== '') {
      let re: RegExp;
      try {
        re = new RegExp(filter);
      } catch {
        send(res, 400, `filter: invalid regular expression ${JSON.stringify(filter)}\n`);
        return;
      }
      entries = entries.filter(([name]) => re.test(name));
    }
    if (url.searchParams.get('format') === 'json') {
      sendJson(res, 200, { stats: entries.map(([name, value]) => ({ name, value })) });
      return;
    }
    send(res, 200, entries.map(([name, value]) => `${name}: ${value}\n`).join(''));
  }
}
