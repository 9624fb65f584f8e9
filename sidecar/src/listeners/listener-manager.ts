// Binds one socket per configured listener and follows LDS: add, swap handlers in place (no rebind), drain removed.
import type { Logger } from 'pino';
import type { ConfigSource } from '../config/config-source.ts';
import type { ListenerConfig, SidecarConfig } from '../config/model.ts';
import { ActiveListener, type ListenerStatus } from './active-listener.ts';
import type { ConnectionLimits } from './connection-gate.ts';
import type { ConnectionHandler, ConnectionHandlerFactory } from './connection-handler.ts';

/** Connection handler factories keyed by the listener's network filter type ('http', 'tcp'). */
export type HandlerFactories<D> = ReadonlyMap<string, ConnectionHandlerFactory<D>>;

/** How long connections of a changed or removed listener may keep going (Envoy's default drain time). */
export const DEFAULT_DRAIN_GRACE_MS = 600_000;

export interface ListenerManagerOptions<D> {
  source: ConfigSource;
  factories: HandlerFactories<D>;
  /** What every handler factory is given. */
  deps: D;
  logger: Logger;
  /** Drain time for handlers replaced or removed by a config change. */
  drainGraceMs?: number;
  /** Retry interval for binds that failed (port in use); 0 disables retries. Default 1 s. */
  bindRetryMs?: number;
  /** Downstream connection limits of every listener (default CONNECTION_LIMIT_DEFAULTS). */
  connectionLimits?: ConnectionLimits;
  /** Called whenever a bind attempt has settled (readiness may have changed). */
  onBindSettled?: () => void;
  /** Bind with SO_REUSEPORT (worker threads sharing every listener's port, --concurrency). */
  reusePort?: boolean;
}

/** Listeners are identified by their socket (address:port); port 0 (any) is identified by name. */
function socketKey(l: ListenerConfig): string {
  return l.port === 0 ? `name:${l.name}` : `${l.address}:${l.port}`;
}

function unchanged(a: ListenerConfig, b: ListenerConfig): boolean {
  return a === b || (a.name === b.name && a.version !== '' && a.version === b.version);
}

export class ListenerManager<D> {
  private readonly options: ListenerManagerOptions<D>;
  private readonly logger: Logger;
  private readonly drainGraceMs: number;
  private readonly active = new Map<string, ActiveListener>();
  /** Removed listeners still draining their connections. */
  private readonly retired = new Set<ActiveListener>();
  private unsubscribe: (() => void) | undefined;
  private draining: Promise<void> | undefined;
  private lastApply: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(options: ListenerManagerOptions<D>) {
    this.options = options;
    this.logger = options.logger;
    this.drainGraceMs = options.drainGraceMs ?? DEFAULT_DRAIN_GRACE_MS;
  }

  /** Applies the source's current config and follows its changes; resolves when the first binds have settled. */
  start(): Promise<void> {
    this.unsubscribe ??= this.options.source.onChange((config) => {
      void this.apply(config);
    });
    return this.apply(this.options.source.current());
  }

  /**
   * Brings the sockets in line with `config.listeners` (synchronously; the returned promise resolves when new binds
   * have settled). Bind errors are logged and shown in status(), never thrown.
   */
  apply(config: SidecarConfig): Promise<void> {
    if (this.draining !== undefined) return Promise.resolve();
    const next = new Map<string, ListenerConfig>();
    for (const l of config.listeners.values()) {
      const key = socketKey(l);
      const other = next.get(key);
      if (other !== undefined) {
        this.logger.error({ listener: l.name, other: other.name, key }, 'two listeners on one address; ignoring');
        continue;
      }
      next.set(key, l);
    }
    for (const [key, listener] of this.active) {
      if (next.has(key)) continue;
      this.active.delete(key);
      this.logger.info({ listener: listener.config.name }, 'listener removed; draining');
      this.retire(listener);
    }
    const binds: Promise<void>[] = [];
    for (const [key, config] of next) {
      const existing = this.active.get(key);
      if (existing === undefined) {
        const built = this.build(config);
        const listener = new ActiveListener(
          config,
          built.handler,
          this.logger,
          this.options.connectionLimits,
          this.options.reusePort ?? false,
        );
        if (built.error !== undefined) listener.fail(config, built.error);
        this.active.set(key, listener);
        binds.push(listener.bind());
        continue;
      }
      if (unchanged(existing.config, config)) continue;
      const built = this.build(config);
      if (built.handler === undefined) {
        existing.fail(config, built.error ?? 'no handler');
        continue;
      }
      this.logger.info({ listener: config.name, version: config.version }, 'listener changed; old handler draining');
      existing.swap(config, built.handler, this.drainGraceMs);
      if (existing.hasFailed()) binds.push(existing.bind());
    }
    this.lastApply = this.settle(binds);
    return this.lastApply;
  }

  /** Resolves when the binds started by the latest config change have settled. */
  settled(): Promise<void> {
    return this.lastApply;
  }

  /** True when every configured listener is bound (none binding, none failed). */
  allBound(): boolean {
    for (const l of this.active.values()) if (!l.isBound()) return false;
    return true;
  }

  /** Configured listeners (sorted by name), then removed ones still draining. */
  status(): ListenerStatus[] {
    const byName = (a: ListenerStatus, b: ListenerStatus): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    return [
      ...[...this.active.values()].map((l) => l.status()).sort(byName),
      ...[...this.retired].map((l) => l.status()),
    ];
  }

  activeConnections(): number {
    let n = 0;
    for (const l of this.active.values()) n += l.activeConnections();
    for (const l of this.retired) n += l.activeConnections();
    return n;
  }

  /**
   * Stops accepting on every listener and drains every handler for up to graceMs; config changes are ignored from
   * now on. A second call with a shorter grace tightens the deadline.
   */
  drainAll(graceMs: number): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const all = [...this.active.values(), ...this.retired].map((l) => l.drain(graceMs));
    this.draining ??= Promise.all(all).then(() => undefined);
    return this.draining;
  }

  isDraining(): boolean {
    return this.draining !== undefined;
  }

  /** Stops following config, closes every socket and connection now. */
  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.drainAll(0);
  }

  /** Waits for binds, tells the owner, and schedules a retry of the ones that failed. */
  private async settle(binds: Promise<void>[]): Promise<void> {
    await Promise.all(binds);
    if (binds.length > 0) this.options.onBindSettled?.();
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    const interval = this.options.bindRetryMs ?? 1000;
    if (interval <= 0 || this.retryTimer !== undefined || this.draining !== undefined) return;
    if (![...this.active.values()].some((l) => l.canRetryBind())) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.draining !== undefined) return;
      const retries = [...this.active.values()].filter((l) => l.canRetryBind()).map((l) => l.bind(true));
      void this.settle(retries);
    }, interval);
    this.retryTimer.unref();
  }

  private retire(listener: ActiveListener): void {
    this.retired.add(listener);
    listener.drain(this.drainGraceMs).then(
      () => this.retired.delete(listener),
      () => this.retired.delete(listener),
    );
  }

  private build(config: ListenerConfig): { handler?: ConnectionHandler; error?: string } {
    const factory = this.options.factories.get(config.filter.type);
    if (factory === undefined) {
      const error = `no connection handler for filter type '${config.filter.type}'`;
      this.logger.error({ listener: config.name }, error);
      return { error };
    }
    try {
      return { handler: factory(config, this.options.deps) };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.logger.error({ err, listener: config.name }, 'building the connection handler failed');
      return { error };
    }
  }
}
