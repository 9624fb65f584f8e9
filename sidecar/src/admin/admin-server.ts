// The admin HTTP server (127.0.0.1:15000 by default): readiness, health, config dump, clusters, stats, drain.
import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compileRe2 } from '@trellis/re2';
import type { Logger } from 'pino';
import { type HistogramSnapshot, quantile } from '../common/histogram.ts';
import { http } from '../common/node-http.ts';
import type { Stats, StatsSnapshot, StatTag } from '../common/stats.ts';
import { mergeSnapshots } from '../common/stats-merge.ts';
import type { ListenerStatus } from '../listeners/active-listener.ts';
import type { CertificateInfo } from '../tls/certificate-info.ts';
import type { Cluster } from '../upstream/cluster.ts';
import { clustersJson, clustersText } from './clusters-page.ts';
import { endpointStats } from './endpoint-stats.ts';
import { type ExplainDeps, explain } from './explain.ts';
import { ALLOWED_LEVELS, type LogLevel, type LogLevels, parseLevel } from './log-levels.ts';
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
  /** Runtime log levels for /logging (absent: the page answers 404). */
  logLevels?: LogLevels;
  /**
   * The credential POSTs (drain, log levels, cache purge) need when the admin listens beyond loopback
   * (`Authorization: Bearer <token>`); without one, those POSTs are refused there. On loopback they need none.
   */
  adminToken?: string;
  /** The workload certificates this sidecar holds (GET /certs; absent: none). Never a key. */
  certificates?: () => readonly CertificateInfo[];
  /** Drops the HTTP cache entries whose key, after its scheme, starts with `prefix` (POST /cache/purge; every worker
   * thread's); the number dropped. */
  purgeCaches?: (prefix: string) => Promise<number>;
  /** The stats of the process's other workers (--concurrency), summed into /stats and /stats/prometheus. */
  workerSnapshots?: () => Promise<Required<StatsSnapshot>[]>;
  /** Worker threads serving the listeners (the server.concurrency gauge); 1 by default. */
  concurrency?: number;
  /** This thread's worker number (listener.<address>.worker_<n>.downstream_cx_total, as Envoy); 0 by default. */
  workerIndex?: number;
  /** What GET /explain reads: the current config and the clusters (absent: the page answers 404). */
  explain?: ExplainDeps;
  /** Called for each level POST /logging set (`level` or a component): the worker threads follow. */
  onLogLevel?: (key: string, level: LogLevel) => void;
}

type Method = 'GET' | 'POST';

interface Page {
  methods: readonly Method[];
  help: string;
  serve(req: IncomingMessage, url: URL, res: ServerResponse): void | Promise<void>;
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
  private readonly server: Server;
  private readonly pages: ReadonlyMap<string, Page>;
  private readonly startedAt = Date.now();

  /** Bound to a loopback address only (no credential needed for POSTs). */
  private loopbackOnly = true;

  constructor(deps: AdminDeps) {
    this.deps = deps;
    this.pages = this.buildPages();
    this.server = http.createServer({ requireHostHeader: false }, this.onRequest);
  }

  /** Binds (port 0 = any) and resolves the bound address; a bind error rejects. */
  async listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    this.loopbackOnly = isLoopback(host);
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

  /**
   * Counters, gauges and histograms, plus what the admin computes on demand: server and listener gauges, per-endpoint
   * stats and the outlier detection stats of clusters that have none.
   */
  statsSnapshot(): Required<StatsSnapshot> {
    const snap = this.deps.stats.snapshot();
    const extra: [string, number][] = [
      ['server.state', STATE_GAUGE[this.deps.state()]],
      ['server.live', this.deps.state() === 'LIVE' ? 1 : 0],
      ['server.uptime', Math.floor((Date.now() - this.startedAt) / 1000)],
      ['server.concurrency', this.deps.concurrency ?? 1],
    ];
    const listenerCounters: [string, number][] = [];
    const workerTags: [string, StatTag][] = [];
    const worker = String(this.deps.workerIndex ?? 0);
    for (const l of this.deps.listeners()) {
      const address = `${l.address}_${l.boundPort ?? l.port}`;
      const scope = `listener.${address}`;
      extra.push([`${scope}.downstream_cx_active`, l.activeConnections]);
      listenerCounters.push([`${scope}.downstream_cx_overflow`, l.overflowConnections]);
      const perWorker = `${scope}.worker_${worker}.downstream_cx_total`;
      listenerCounters.push([perWorker, l.acceptedConnections]);
      workerTags.push([
        perWorker,
        {
          family: 'envoy_listener_worker_downstream_cx_total',
          labels: [
            ['envoy_listener_address', address],
            ['envoy_worker_id', worker],
          ],
        },
      ]);
      const rate = l.connectionRateLimit;
      if (rate !== undefined)
        listenerCounters.push([`local_ratelimit.${rate.statPrefix}.rate_limited`, rate.rateLimited]);
    }
    const known = new Set<string>();
    for (const [name] of snap.counters) known.add(name);
    for (const [name] of snap.gauges) known.add(name);
    const endpoints = endpointStats(this.deps.clusters(), (name) => known.has(name));
    const tags = new Map<string, StatTag>(snap.tags);
    for (const [name, tag] of endpoints.tags) tags.set(name, tag);
    for (const [name, tag] of workerTags) tags.set(name, tag);
    const gauges = [...snap.gauges, ...extra, ...endpoints.gauges].sort(byName);
    const counters = [...snap.counters, ...listenerCounters, ...endpoints.counters].sort(byName);
    return { counters, gauges, histograms: snap.histograms, tags };
  }

  /** This thread's snapshot summed with every other worker's (mergeSnapshots): what the stats pages show. */
  async processStatsSnapshot(): Promise<Required<StatsSnapshot>> {
    const own = this.statsSnapshot();
    const workers = this.deps.workerSnapshots;
    return workers === undefined ? own : mergeSnapshots([own, ...(await workers())]);
  }

  /** Beyond loopback, a POST needs the admin token: why not, or undefined when it carries the right one. */
  private credentialProblem(req: IncomingMessage): { status: number; message: string } | undefined {
    const token = this.deps.adminToken;
    if (token === undefined)
      return {
        status: 403,
        message: 'the admin listens beyond loopback: POSTs need --admin-token (TRELLIS_ADMIN_TOKEN) set on the sidecar',
      };
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const a = createHash('sha256').update(given).digest();
    const b = createHash('sha256').update(token).digest();
    if (!timingSafeEqual(a, b)) return { status: 401, message: 'authorization: expected "Bearer <admin token>"' };
    return undefined;
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const page = this.pages.get(url.pathname);
    if (page === undefined) {
      send(res, 404, `not found: ${url.pathname} (GET / lists the admin endpoints)\n`);
      return;
    }
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (!page.methods.includes(method as Method)) {
      res.setHeader('allow', page.methods.join(', '));
      send(res, 405, `method not allowed: use ${page.methods.join(' or ')} ${url.pathname}\n`);
      return;
    }
    if (method === 'POST' && !this.loopbackOnly) {
      const refused = this.credentialProblem(req);
      if (refused !== undefined) {
        send(res, refused.status, `${refused.message}\n`);
        return;
      }
    }
    const failed = (err: unknown): void => {
      this.deps.logger.error({ err, path: url.pathname }, 'admin page failed');
      if (!res.headersSent) send(res, 500, `${err instanceof Error ? err.message : String(err)}\n`);
      else res.destroy();
    };
    try {
      page.serve(req, url, res)?.catch(failed);
    } catch (err) {
      failed(err);
    }
  };

  private buildPages(): Map<string, Page> {
    const d = this.deps;
    const pages = new Map<string, Page>();
    pages.set('/', {
      methods: ['GET'],
      help: 'this list',
      serve: (_req, _url, res) => {
        const lines = [...pages].map(([path, p]) => `${p.methods.join(',').padEnd(9)} ${path.padEnd(18)} ${p.help}`);
        send(res, 200, `trellis sidecar admin\n\n${lines.join('\n')}\n`);
      },
    });
    pages.set('/ready', {
      methods: ['GET'],
      help: '200 LIVE once config is applied and listeners are bound; 503 before and while draining',
      serve: (_req, _url, res) => {
        const state = d.state();
        send(res, state === 'LIVE' ? 200 : 503, `${state}\n`);
      },
    });
    pages.set('/healthz', {
      methods: ['GET'],
      help: '200 while the process runs',
      serve: (_req, _url, res) => send(res, 200, 'OK\n'),
    });
    pages.set('/config_dump', {
      methods: ['GET'],
      help: 'xDS resources and versions (JSON), plus listener status',
      serve: (_req, _url, res) =>
        sendJson(res, 200, { state: d.state(), xds: d.configDump(), listeners: d.listeners() }),
    });
    pages.set('/listeners', {
      methods: ['GET'],
      help: 'listener status (JSON): address, bound port, state, active connections',
      serve: (_req, _url, res) => sendJson(res, 200, { listeners: d.listeners() }),
    });
    pages.set('/explain', {
      methods: ['GET'],
      help: 'what this sidecar would do with a request: ?url=http://host/path [&method=GET] [&header=name:value…] [&listener=NAME] (JSON)',
      serve: (_req, url, res) => this.serveExplain(url, res),
    });
    pages.set('/clusters', {
      methods: ['GET'],
      help: 'upstream clusters and hosts (text; ?format=json)',
      serve: (_req, url, res) => {
        if (url.searchParams.get('format') === 'json') sendJson(res, 200, clustersJson(d.clusters()));
        else send(res, 200, clustersText(d.clusters()));
      },
    });
    pages.set('/certs', {
      methods: ['GET'],
      help: 'the workload certificate in use (JSON: SPIFFE id, serial, validity); never a key',
      serve: (_req, _url, res) => sendJson(res, 200, { certificates: d.certificates?.() ?? [] }),
    });
    pages.set('/stats', {
      methods: ['GET'],
      help: 'counters, gauges and histograms as `name: value` (?filter=REGEX, ?format=json)',
      serve: async (_req, url, res) => this.serveStats(url, res, await this.processStatsSnapshot()),
    });
    pages.set('/stats/prometheus', {
      methods: ['GET'],
      help: 'the same in Prometheus text exposition format',
      serve: async (_req, _url, res) =>
        send(
          res,
          200,
          prometheusText(await this.processStatsSnapshot(), d.statScopes()),
          'text/plain; version=0.0.4; charset=utf-8',
        ),
    });
    pages.set('/logging', {
      methods: ['GET', 'POST'],
      help: 'log levels; POST ?level=LEVEL sets every logger, ?<component>=LEVEL one component',
      serve: (req, url, res) => this.serveLogging(req.method === 'POST', url, res),
    });
    pages.set('/cache/purge', {
      methods: ['POST'],
      help: 'drop HTTP cache entries; ?prefix=HOST/PATH drops the keys starting so (host[:port]/path), none: all',
      serve: async (_req, url, res) => {
        const prefix = url.searchParams.get('prefix') ?? '';
        const purged = (await d.purgeCaches?.(prefix)) ?? 0;
        d.logger.info({ prefix, purged }, 'cache purge requested on the admin port');
        send(res, 200, `purged ${purged}\n`);
      },
    });
    pages.set('/drain', {
      methods: ['POST'],
      help: 'start draining: listeners stop accepting, /ready turns 503',
      serve: (_req, _url, res) => {
        d.logger.info('drain requested on the admin port');
        d.drain();
        send(res, 200, 'OK\n');
      },
    });
    return pages;
  }

  private serveStats(url: URL, res: ServerResponse, snap: Required<StatsSnapshot>): void {
    let entries: [string, number | HistogramSnapshot][] = [...snap.counters, ...snap.gauges, ...snap.histograms];
    entries.sort(byName);
    const filter = url.searchParams.get('filter');
    if (filter !== null && filter !== '') {
      // RE2, as Envoy's admin filter: a partial match, linear in each name.
      const compiled = compileRe2(filter);
      if ('error' in compiled) {
        send(res, 400, `filter: invalid RE2 regex ${JSON.stringify(filter)}: ${compiled.error}\n`);
        return;
      }
      const re = compiled.regex;
      entries = entries.filter(([name]) => re.partialMatch(name));
    }
    if (url.searchParams.get('format') === 'json') {
      sendJson(res, 200, {
        stats: entries.map(([name, value]) =>
          typeof value === 'number' ? { name, value } : { name, histogram: histogramJson(value) },
        ),
      });
      return;
    }
    send(
      res,
      200,
      entries.map(([name, value]) => `${name}: ${typeof value === 'number' ? value : histogramText(value)}\n`).join(''),
    );
  }

  private serveExplain(url: URL, res: ServerResponse): void {
    const deps = this.deps.explain;
    if (deps === undefined) {
      send(res, 404, 'explain is not available\n');
      return;
    }
    const q = url.searchParams;
    const target = q.get('url');
    if (target === null || target === '') {
      send(
        res,
        400,
        'expected ?url=http://host[:port]/path (and optionally &method=, &header=name:value, &listener=)\n',
      );
      return;
    }
    const headers: [string, string][] = [];
    for (const h of q.getAll('header')) {
      const colon = h.indexOf(':');
      if (colon <= 0) {
        send(res, 400, `header: expected name:value, got ${JSON.stringify(h)}\n`);
        return;
      }
      headers.push([h.slice(0, colon).trim(), h.slice(colon + 1).trim()]);
    }
    const listener = q.get('listener');
    const result = explain(deps, {
      url: target,
      method: q.get('method') ?? 'GET',
      headers,
      ...(listener === null ? {} : { listener }),
    });
    if ('error' in result) send(res, 400, `${result.error}\n`);
    else sendJson(res, 200, result);
  }

  /** GET lists the levels; POST ?level=L sets all loggers, ?<component>=L the loggers of one component. */
  private serveLogging(post: boolean, url: URL, res: ServerResponse): void {
    const levels = this.deps.logLevels;
    if (levels === undefined) {
      send(res, 404, 'runtime log levels are not available\n');
      return;
    }
    if (post) {
      const params = [...url.searchParams];
      if (params.length === 0) {
        send(res, 400, `expected ?level=LEVEL or ?<component>=LEVEL; levels: ${ALLOWED_LEVELS}\n`);
        return;
      }
      for (const [key, value] of params) {
        const level = parseLevel(value);
        if (level === undefined) {
          send(res, 400, `${key}: unknown log level ${JSON.stringify(value)}; expected one of ${ALLOWED_LEVELS}\n`);
          return;
        }
        if (key !== 'level' && !levels.levels().components.some(([c]) => c === key)) {
          const known = levels.levels().components.map(([c]) => c);
          send(res, 400, `${key}: no such logger component; expected level or one of ${known.join(', ')}\n`);
          return;
        }
      }
      for (const [key, value] of params) {
        const level = parseLevel(value)!;
        if (key === 'level') levels.setAll(level);
        else levels.setComponent(key, level);
        this.deps.onLogLevel?.(key, level);
      }
      this.deps.logger.info({ levels: Object.fromEntries(params) }, 'log levels changed');
    }
    const { root, components } = levels.levels();
    const lines = [`  root: ${root}`, ...components.map(([c, l]) => `  ${c}: ${l}`)];
    send(res, 200, `active loggers:\n${lines.join('\n')}\n`);
  }
}

function byName<T>(a: [string, T], b: [string, T]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** `count=N sum=S p50=… p90=… p99=…` (quantiles estimated from the buckets, ms). */
function histogramText(h: HistogramSnapshot): string {
  const q = (x: number) => (h.count === 0 ? 'nan' : String(round(quantile(h, x))));
  return `count=${h.count} sum=${round(h.sum)} p50=${q(0.5)} p90=${q(0.9)} p99=${q(0.99)}`;
}

function histogramJson(h: HistogramSnapshot): unknown {
  return {
    count: h.count,
    sum: h.sum,
    buckets: h.bounds.map((le, i) => ({ le, count: h.cumulative[i] })),
  };
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::ffff:127.0.0.1';
}
