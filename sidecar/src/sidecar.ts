// The sidecar assembled: config source (xDS) → cluster manager + listener manager, admin server, start/stop.

import type { Logger } from 'pino';
import { AdminServer, type ServerState } from './admin/admin-server.ts';
import { LogLevels } from './admin/log-levels.ts';
import type { StatScopes } from './admin/prometheus.ts';
import { Stats } from './common/stats.ts';
import { ConfigRelay } from './config/config-relay.ts';
import type { SidecarConfigSource } from './config/config-source.ts';
import type { SidecarConfig } from './config/model.ts';
import { ResponseCaches } from './filters/cache/response-store.ts';
import { rbacEnforcing } from './filters/rbac/network-rbac.ts';
import { setup as setupHttpFilters } from './filters/setup.ts';
import type { ExchangeObserverFactory } from './http/context/exchange-observer.ts';
import type { HttpDeps } from './http/context/http-deps.ts';
import { httpHandlerFactory } from './http/http-handler.ts';
import { UpstreamPools } from './http/pool/upstream-pools.ts';
import type { ListenerStatus } from './listeners/active-listener.ts';
import { ConnectionBytes } from './listeners/connection-bytes.ts';
import type { ConnectionLimits } from './listeners/connection-gate.ts';
import type { ConnectionHandlerFactory } from './listeners/connection-handler.ts';
import { type HandlerFactories, ListenerManager, type ListenerManagerOptions } from './listeners/listener-manager.ts';
import { HttpAccessLogs } from './observers/access-log/http-access-log.ts';
import { LogWriters } from './observers/access-log/log-writers.ts';
import { HttpMetrics } from './observers/metrics/http-metrics.ts';
import { createTcpHandler, type TcpDeps } from './tcp/tcp-proxy.ts';
import type { CertificateInfo } from './tls/certificate-info.ts';
import { type CertificateSource, MeshTls } from './tls/mesh-tls.ts';
import { tlsTerminating } from './tls/tls-listener.ts';
import { Dialer } from './upstream/dialer.ts';
import type { SidecarWorkers } from './workers/worker-protocol.ts';

/** A sidecar without a workload identity: no certificate, so no TLS is terminated or originated. */
const NO_IDENTITY: CertificateSource = { current: undefined };

import { ClusterManager } from './upstream/cluster-manager.ts';

/** What the sidecar needs from its config source: XdsClient in production, a hand-set source in tests. */
/** What the sidecar gives every listener's handler factory: the HTTP connection manager's and the TCP proxy's needs. */
export type HandlerDeps = HttpDeps & TcpDeps;

export type { SidecarConfigSource } from './config/config-source.ts';

export interface SidecarOptions {
  source: SidecarConfigSource;
  logger: Logger;
  /** Where the admin listens; `token`: what its POSTs need when that is beyond loopback. Absent: no admin port (a
   * worker thread: the main thread's admin serves the whole process). */
  admin?: { address: string; port: number; token?: string };
  /** The other worker threads of this process (--concurrency): their stats join the admin's, drain and stop follow. */
  workers?: SidecarWorkers;
  /** Threads serving the listeners (SO_REUSEPORT when over 1) and this one's number (0: the main thread). */
  concurrency?: { threads: number; index: number };
  stats?: Stats;
  /** Handler factories by filter type; defaults to HTTP connection manager + TCP proxy. */
  factories?: HandlerFactories<HandlerDeps>;
  /** How long connections of changed/removed listeners may keep going (default 600 s, as Envoy). */
  listenerDrainMs?: number;
  /** Downstream connection limits of every listener (default CONNECTION_LIMIT_DEFAULTS). */
  connectionLimits?: ConnectionLimits;
  /** Grace for POST /drain (default 600 s: the process keeps running until SIGTERM). */
  adminDrainMs?: number;
  /** Extra fields for the 'sidecar ready' log line. */
  readyLogFields?: Record<string, unknown>;
  /** The sidecar's locality zone (--zone): zone-aware routing keeps upstream traffic there while it has capacity. */
  localZone?: string;
  /** Observers of HTTP requests made outside the sidecar (tracing, from main.ts); added to the built-in ones. */
  observers?: readonly ExchangeObserverFactory[];
  /** Called once the admin port is bound, before the config source starts (main.ts announces it in node metadata). */
  onAdminBound?: (address: string, port: number) => void;
  /** The workload certificates held (the admin's /certs), from main.ts's workload identity. */
  certificates?: () => readonly CertificateInfo[];
  /** The workload identity (main.ts, with --join-token): its certificate terminates and originates mesh mTLS. */
  identity?: CertificateSource;
  /** Runs on stop once the listeners are closed, bounded to 5 s (main.ts flushes queued trace spans). */
  onStop?: () => Promise<void>;
}

/** The built-in connection handlers by network filter type; HTTP response caches join `caches`. */
export function defaultHandlerFactories(
  caches: ResponseCaches = new ResponseCaches(),
): Map<string, ConnectionHandlerFactory<HandlerDeps>> {
  return new Map<string, ConnectionHandlerFactory<HandlerDeps>>([
    ['http', httpHandlerFactory(setupHttpFilters(undefined, caches))],
    ['tcp', createTcpHandler],
  ]);
}

/**
 * Config flows one way: the source announces a config; the cluster manager applies it first (clusters and hosts
 * exist before any listener can route to them), then the listener manager. Readiness (/ready LIVE) needs the
 * first complete config from the source and every listener bound; draining turns it off for good.
 */
export class Sidecar {
  readonly stats: Stats;
  readonly clusters: ClusterManager;
  readonly listeners: ListenerManager<HandlerDeps>;
  readonly admin: AdminServer;
  /** Runtime log levels of the sidecar's logger and its children (admin /logging). */
  readonly logLevels: LogLevels;
  /** Access log files and streams, shared by listeners writing the same path. */
  readonly accessLogWriters: LogWriters;
  /** Upstream connection pools shared by every HTTP listener: a listener change keeps warm connections. */
  private readonly pools: UpstreamPools;
  /** The HTTP response caches of the built-in cache filter (admin /cache/purge). */
  readonly caches = new ResponseCaches();
  private readonly options: SidecarOptions;
  private readonly logger: Logger;
  private readonly relay = new ConfigRelay();
  private unsubscribe: (() => void) | undefined;
  private sourceReady = false;
  private live = false;
  private draining = false;
  /** Every worker thread LIVE (true without workers). */
  private workersReady: boolean;
  private stopping: Promise<void> | undefined;
  private readonly readyWaiters: (() => void)[] = [];

  constructor(options: SidecarOptions) {
    this.options = options;
    this.workersReady = options.workers === undefined;
    this.logger = options.logger;
    this.stats = options.stats ?? new Stats();
    this.logLevels = new LogLevels(options.logger);
    this.accessLogWriters = new LogWriters((path, err) => this.logger.error({ err, path }, 'access log write failed'));
    // Mesh mTLS: the workload certificate (when the sidecar has an identity) for upstream and inbound TLS.
    const meshTls = new MeshTls(
      options.identity ?? NO_IDENTITY,
      (secret) => this.relay.current().secrets.get(secret)?.trustedCa,
    );
    const dialer = new Dialer((config) => meshTls.client(config));
    this.clusters = new ClusterManager({
      stats: this.stats,
      logger: this.logger.child({ component: 'upstream' }),
      localZone: options.localZone ?? '',
      dialer,
    });
    this.pools = new UpstreamPools(this.clusters, this.stats, dialer);
    const deps: HandlerDeps = {
      dialer,
      clusters: this.clusters,
      routeConfig: (name) => this.relay.current().routes.get(name),
      stats: this.stats,
      logger: this.logger,
      // Tracing (from options) comes first: it sets traceparent before the access log reads it.
      observers: [...(options.observers ?? []), new HttpMetrics(this.stats), new HttpAccessLogs(this.accessLogWriters)],
      accessLogWriters: this.accessLogWriters,
      pools: this.pools,
    };
    const bytes = new ConnectionBytes(this.stats);
    const factories = new Map<string, ConnectionHandlerFactory<HandlerDeps>>();
    for (const [type, factory] of options.factories ?? defaultHandlerFactories(this.caches))
      factories.set(
        type,
        tlsTerminating(rbacEnforcing(bytes.wrap(factory), this.stats), meshTls, this.stats, this.logger),
      );
    const listenerOptions: ListenerManagerOptions<HandlerDeps> = {
      source: this.relay,
      factories,
      deps,
      logger: this.logger.child({ component: 'listeners' }),
      onBindSettled: () => this.checkReady(),
    };
    if (options.listenerDrainMs !== undefined) listenerOptions.drainGraceMs = options.listenerDrainMs;
    if (options.connectionLimits !== undefined) listenerOptions.connectionLimits = options.connectionLimits;
    if ((options.concurrency?.threads ?? 1) > 1) listenerOptions.reusePort = true;
    this.listeners = new ListenerManager(listenerOptions);
    this.admin = new AdminServer({
      stats: this.stats,
      clusters: () => this.clusters.list(),
      listeners: () => this.listeners.status(),
      configDump: () => options.source.dump(),
      state: () => this.state(),
      statScopes: () => statScopesOf(this.relay.current()),
      drain: () => this.drain(options.adminDrainMs ?? 600_000),
      logger: this.logger.child({ component: 'admin' }),
      logLevels: this.logLevels,
      purgeCaches: async (prefix) => this.purgeCaches(prefix) + ((await options.workers?.purgeCaches(prefix)) ?? 0),
      onLogLevel: (key, level) => options.workers?.setLogLevel(key, level),
      explain: { config: () => this.relay.current(), cluster: (name) => this.clusters.get(name) },
      concurrency: options.concurrency?.threads ?? 1,
      workerIndex: options.concurrency?.index ?? 0,
      ...(options.workers === undefined
        ? {}
        : { workerSnapshots: () => (options.workers as SidecarWorkers).snapshots() }),
      ...(options.certificates === undefined ? {} : { certificates: options.certificates }),
      ...(options.admin?.token === undefined ? {} : { adminToken: options.admin.token }),
    });
  }

  /** Binds the admin port, starts the config source and follows it; resolves once the admin port is bound. */
  async start(): Promise<{ adminPort: number | undefined }> {
    let adminPort: number | undefined;
    if (this.options.admin !== undefined) {
      const { address, port } = this.options.admin;
      const bound = await this.admin.listen(port, address);
      adminPort = bound.port;
      this.logger.info({ adminAddress: bound.address, adminPort: bound.port }, 'admin listening');
      this.options.onAdminBound?.(bound.address, bound.port);
      process.on('SIGUSR1', this.reopenLogs);
    }
    this.options.workers?.ready().then(
      () => {
        this.workersReady = true;
        this.checkReady();
      },
      (err: unknown) => this.logger.error({ err }, 'worker threads failed to start'),
    );
    const source = this.options.source;
    this.unsubscribe = source.onChange((config) => this.apply(config));
    void this.listeners.start();
    source.start();
    source.ready().then(
      () => {
        this.apply(source.current());
        this.sourceReady = true;
        void this.listeners.settled().then(() => this.checkReady());
      },
      (err: unknown) => this.logger.error({ err }, 'config source failed'),
    );
    return { adminPort };
  }

  /** LIVE once ready, DRAINING from drain()/stop() on. */
  state(): ServerState {
    if (this.draining) return 'DRAINING';
    if (this.live) return 'LIVE';
    return this.sourceReady ? 'INITIALIZING' : 'PRE_INITIALIZING';
  }

  /** Resolves when the sidecar first becomes LIVE. */
  whenReady(): Promise<void> {
    if (this.live) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  listenerStatus(): ListenerStatus[] {
    return this.listeners.status();
  }

  /** Starts draining: /ready turns 503, listeners stop accepting, open connections get graceMs to finish. */
  drain(graceMs: number): Promise<void> {
    if (!this.draining) this.logger.info({ graceMs }, 'draining');
    this.draining = true;
    const workers = this.options.workers?.drain(graceMs);
    return Promise.all([this.listeners.drainAll(graceMs), workers]).then(() => undefined);
  }

  /** Drains for at most graceMs, then closes everything (connections, xDS stream, admin port). */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= this.stopOnce(graceMs);
    return this.stopping;
  }

  private async stopOnce(graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs + 1000);
    });
    await Promise.race([this.drain(graceMs), deadline]);
    clearTimeout(timer);
    this.unsubscribe?.();
    await Promise.race([this.listeners.close(), new Promise((resolve) => setTimeout(resolve, 1000))]);
    await this.pools.close(1000);
    const onStop = this.options.onStop?.().catch((err: unknown) => this.logger.warn({ err }, 'stop hook failed'));
    if (onStop !== undefined) await Promise.race([onStop, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    await this.options.workers?.stop(1000);
    await this.options.source.stop();
    await this.admin.close();
    process.off('SIGUSR1', this.reopenLogs);
    await this.accessLogWriters.close();
  }

  /** Drops this thread's HTTP cache entries whose key, after its scheme, starts with `prefix`; the number dropped. */
  purgeCaches(prefix: string): number {
    // Keys are scheme://host/path?query (the scheme and the host may be left out by config): match after it.
    return this.caches.purge((key) => {
      const scheme = key.indexOf('://');
      return (scheme < 0 ? key : key.slice(scheme + 3)).startsWith(prefix);
    });
  }

  /** SIGUSR1 (log rotation): access log files are reopened at their paths. */
  private readonly reopenLogs = (): void => {
    this.logger.info('reopening access logs');
    this.accessLogWriters.reopen();
    this.options.workers?.reopenLogs();
  };

  private apply(config: SidecarConfig): void {
    if (config === this.relay.current()) return;
    try {
      this.clusters.update(config);
    } catch (err) {
      this.logger.error({ err }, 'applying clusters failed');
    }
    this.relay.set(config);
    void this.listeners.settled().then(() => this.checkReady());
  }

  private checkReady(): void {
    if (this.live || this.draining || !this.sourceReady || !this.workersReady || !this.listeners.allBound()) return;
    this.live = true;
    this.logger.info(
      {
        adminPort: this.admin.port(),
        listeners: this.listeners.status().map((l) => ({ name: l.name, address: l.address, port: l.boundPort })),
        clusters: this.clusters.list().length,
        ...this.options.readyLogFields,
      },
      // A worker thread (no admin port of its own) is ready before the process is: the main thread says that.
      this.options.admin === undefined ? 'worker thread ready' : 'sidecar ready',
    );
    for (const wake of this.readyWaiters.splice(0)) wake();
  }
}

/** Cluster names and stat prefixes (which may contain dots) for Prometheus labels. */
function statScopesOf(config: SidecarConfig): StatScopes {
  const tcp: string[] = [];
  const http: string[] = [];
  for (const l of config.listeners.values()) {
    if (l.filter.type === 'tcp') tcp.push(l.filter.tcp.statPrefix);
    else http.push(l.filter.http.statPrefix);
  }
  return { clusters: [...config.clusters.keys()], tcp, http };
}
