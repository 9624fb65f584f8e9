// One bound listening socket: its current connection handler, the older handlers still draining, and its status.
import net, { type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { TokenBucket } from '../common/token-bucket.ts';
import type { ListenerConfig } from '../config/model.ts';
import { CONNECTION_LIMIT_DEFAULTS, ConnectionGate, type ConnectionLimits } from './connection-gate.ts';
import type { ConnectionHandler } from './connection-handler.ts';

export type ListenerState = 'binding' | 'bound' | 'error' | 'draining' | 'closed';

export interface ListenerStatus {
  name: string;
  address: string;
  /** The configured port (0 = any). */
  port: number;
  /** The port actually bound, once bound. */
  boundPort?: number;
  state: ListenerState;
  /** Why binding (or building the handler) failed. */
  error?: string;
  filter: ListenerConfig['filter']['type'];
  direction: ListenerConfig['direction'];
  version: string;
  /** Downstream connections open on this socket, including those of handlers still draining. */
  activeConnections: number;
  /** Connections refused because the listener's or a client IP's connection limit was reached. */
  overflowConnections: number;
  /** Connections this socket accepted (this worker's share when workers share the port). */
  acceptedConnections: number;
  /** The network local_ratelimit filter's stat prefix and the connections it closed (across config changes). */
  connectionRateLimit?: { statPrefix: string; rateLimited: number };
}

/**
 * The net.Server is created once and never rebound: a config change swaps `handler` (new connections go to the
 * new one) while the previous handler keeps its connections and drains them.
 */
export class ActiveListener {
  config: ListenerConfig;
  private handler: ConnectionHandler | undefined;
  private readonly draining = new Set<ConnectionHandler>();
  private readonly server: Server;
  private readonly logger: Logger;
  private state: ListenerState = 'binding';
  private error: string | undefined;
  private boundPort: number | undefined;
  private closed: Promise<void> | undefined;
  private bindFailed = false;
  private readonly gate = new ConnectionGate();
  private readonly limits: ConnectionLimits;
  /** The connection rate limit's bucket, for the config it was made from (a new config starts a full one). */
  private rate: { config: NonNullable<ListenerConfig['connectionRateLimit']>; bucket: TokenBucket } | undefined;
  private rateLimited = 0;
  private accepted = 0;
  /** SO_REUSEPORT: every worker thread binds the same address:port and the kernel spreads connections over them. */
  private readonly reusePort: boolean;

  constructor(
    config: ListenerConfig,
    handler: ConnectionHandler | undefined,
    logger: Logger,
    limits: ConnectionLimits = CONNECTION_LIMIT_DEFAULTS,
    reusePort = false,
  ) {
    this.config = config;
    this.handler = handler;
    this.limits = limits;
    this.reusePort = reusePort;
    this.logger = logger.child({ listener: config.name });
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false });
    this.server.on('connection', this.onConnection);
  }

  /**
   * Binds address:port; resolves once bound or failed (a failure is logged and kept in status, never thrown).
   * `retry` logs a repeated failure at debug level only.
   */
  bind(retry = false): Promise<void> {
    if (this.handler === undefined) {
      this.state = 'error';
      return Promise.resolve();
    }
    this.state = 'binding';
    this.error = undefined;
    return new Promise((resolve) => {
      const onError = (err: Error): void => {
        this.server.off('listening', onListening);
        this.state = 'error';
        this.error = err.message;
        this.bindFailed = true;
        const where = { err, address: this.config.address, port: this.config.port };
        if (retry) this.logger.debug(where, 'listener bind retry failed');
        else this.logger.error(where, 'listener bind failed; retrying');
        resolve();
      };
      const onListening = (): void => {
        this.server.off('error', onError);
        this.server.on('error', this.onServerError);
        if (this.closed !== undefined) {
          // Removed (or drained) while binding.
          this.server.close();
          resolve();
          return;
        }
        const address = this.server.address();
        this.boundPort = address !== null && typeof address === 'object' ? address.port : this.config.port;
        this.state = 'bound';
        this.error = undefined;
        this.bindFailed = false;
        this.logger.info({ address: this.config.address, port: this.boundPort }, 'listener bound');
        resolve();
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen({
        host: this.config.address,
        port: this.config.port,
        ...(this.reusePort ? { reusePort: true } : {}),
      });
    });
  }

  /** A new config on the same socket: new connections go to `handler`; the previous one drains for graceMs. */
  swap(config: ListenerConfig, handler: ConnectionHandler, graceMs: number): void {
    this.config = config;
    const previous = this.handler;
    this.handler = handler;
    if (previous !== undefined) this.retire(previous, graceMs);
  }

  /** Records a failure to build the handler for a new config; the previous handler (if any) keeps serving. */
  fail(config: ListenerConfig, message: string): void {
    this.config = config;
    this.error = message;
    if (this.handler === undefined) this.state = 'error';
  }

  isBound(): boolean {
    return this.state === 'bound';
  }

  hasFailed(): boolean {
    return this.state === 'error';
  }

  /** A bind that failed (e.g. port in use) and may succeed later; false once draining. */
  canRetryBind(): boolean {
    return this.bindFailed && this.state === 'error' && this.handler !== undefined && this.closed === undefined;
  }

  /** Stops accepting (closes the listening socket) and drains every handler; resolves when all are done. */
  drain(graceMs: number): Promise<void> {
    if (this.closed === undefined) {
      this.closed = this.closeAndDrain(graceMs);
    } else {
      // Already draining: a shorter grace tightens the handlers' deadline (drain(0) cuts connections now).
      for (const h of this.handlers()) void h.drain(graceMs);
    }
    return this.closed;
  }

  activeConnections(): number {
    let n = 0;
    for (const h of this.handlers()) n += h.activeConnections();
    return n;
  }

  status(): ListenerStatus {
    const c = this.config;
    const status: ListenerStatus = {
      name: c.name,
      address: c.address,
      port: c.port,
      state: this.state,
      filter: c.filter.type,
      direction: c.direction,
      version: c.version,
      activeConnections: this.activeConnections(),
      overflowConnections: this.gate.overflow,
      acceptedConnections: this.accepted,
    };
    if (this.boundPort !== undefined) status.boundPort = this.boundPort;
    if (c.connectionRateLimit !== undefined)
      status.connectionRateLimit = { statPrefix: c.connectionRateLimit.statPrefix, rateLimited: this.rateLimited };
    if (this.error !== undefined) status.error = this.error;
    return status;
  }

  private handlers(): ConnectionHandler[] {
    return this.handler === undefined ? [...this.draining] : [this.handler, ...this.draining];
  }

  private retire(handler: ConnectionHandler, graceMs: number): void {
    this.draining.add(handler);
    handler.drain(graceMs).then(
      () => this.draining.delete(handler),
      (err: unknown) => {
        this.draining.delete(handler);
        this.logger.error({ err }, 'handler drain failed');
      },
    );
  }

  private async closeAndDrain(graceMs: number): Promise<void> {
    const wasListening = this.server.listening;
    this.state = this.state === 'error' ? 'error' : 'draining';
    const serverClosed = wasListening
      ? new Promise<void>((resolve) => this.server.close(() => resolve()))
      : Promise.resolve();
    const handlers = this.handlers();
    const all = Promise.allSettled(handlers.map((h) => h.drain(graceMs)));
    // Handlers retired earlier may be draining on a longer grace: once ours is over, ask them to stop now.
    let timer: NodeJS.Timeout | undefined;
    const overdue = new Promise<'overdue'>((resolve) => {
      timer = setTimeout(() => resolve('overdue'), graceMs);
    });
    if ((await Promise.race([all, overdue])) === 'overdue') for (const h of handlers) void h.drain(0);
    clearTimeout(timer);
    for (const r of await all)
      if (r.status === 'rejected') this.logger.error({ err: r.reason }, 'handler drain failed');
    this.draining.clear();
    await serverClosed;
    if (this.state !== 'error') this.state = 'closed';
  }

  private readonly onConnection = (socket: Socket): void => {
    const handler = this.handler;
    if (handler === undefined || this.closed !== undefined) {
      socket.destroy();
      return;
    }
    this.accepted++;
    // Over the connection rate the new connection is closed at once, before it is counted anywhere.
    const rate = this.config.connectionRateLimit;
    if (rate !== undefined) {
      if (this.rate?.config !== rate) this.rate = { config: rate, bucket: new TokenBucket(rate.tokenBucket) };
      if (!this.rate.bucket.consume()) {
        this.rateLimited++;
        socket.destroy();
        return;
      }
    }
    // Over a limit the new connection is refused at once (established ones are never cut, as Envoy does).
    const max = this.config.maxConnections;
    const limits = max === undefined ? this.limits : { ...this.limits, maxConnections: max };
    if (!this.gate.admit(socket, limits)) {
      socket.destroy();
      return;
    }
    try {
      handler.handle(socket);
    } catch (err) {
      // A handler bug must cost one connection, not the process.
      this.logger.error({ err }, 'connection handler threw');
      socket.destroy();
    }
  };

  private readonly onServerError = (err: Error): void => {
    this.logger.error({ err }, 'listener error');
  };
}
