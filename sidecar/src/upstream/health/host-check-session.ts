// One host's active health checking: a timer-driven loop of checks with a timeout each, feeding the pure state
// (thresholds, transitions) and choosing the next interval. Owned by a HealthChecker.
import type { HealthCheckConfig } from '../../config/model.ts';
import type { Host } from '../host/host.ts';
import {
  applyResult,
  failed,
  type HealthTransition,
  type HostCheckState,
  newHostCheckState,
  nextIntervalMs,
  type ProbeResult,
} from './health-check-state.ts';
import type { ProbeConnection, Prober, ProberFactory } from './prober.ts';

/** What a session needs from its checker. */
export interface SessionOwner {
  readonly config: HealthCheckConfig;
  readonly clusterName: string;
  readonly createProber: ProberFactory;
  readonly random: () => number;
  /** Opens a connection to a host the way its cluster does (mesh mTLS where the host takes it); absent: plaintext. */
  readonly connectTo: ((host: Host) => ProbeConnection) | undefined;
  hadTraffic(): boolean;
  checkStarted(session: HostCheckSession): void;
  checkDone(session: HostCheckSession, result: ProbeResult, transition: HealthTransition): void;
}

export class HostCheckSession {
  readonly host: Host;
  readonly state: HostCheckState;
  private readonly owner: SessionOwner;
  private prober: Prober | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timeout: NodeJS.Timeout | undefined;
  private abort: AbortController | undefined;
  /** Bumped by stop(), so a loop stopped from a listener does not reschedule itself. */
  private generation = 0;
  /** Id of the check in flight (0 = none); late results of timed-out or stopped checks are dropped. */
  private inFlight = 0;
  private checks = 0;

  constructor(host: Host, owner: SessionOwner, healthy: boolean) {
    this.host = host;
    this.owner = owner;
    this.state = newHostCheckState(healthy);
  }

  /** Starts checking: the first check after a random part of initial_jitter (at once without it). */
  start(): void {
    const config = this.owner.config;
    const connectTo = this.owner.connectTo;
    const host = this.host;
    this.prober = this.owner.createProber({ address: host.address, port: host.port }, config.probe, {
      clusterName: this.owner.clusterName,
      reuseConnection: config.reuseConnection,
      ...(connectTo === undefined ? {} : { connect: () => connectTo(host) }),
    });
    const delay = config.initialJitterMs > 0 ? Math.floor(this.owner.random() * config.initialJitterMs) : 0;
    this.schedule(delay);
  }

  /** Stops checking and drops the connection; the health state stays (a restart with new config keeps it). */
  stop(): void {
    this.generation++;
    this.inFlight = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.timeout !== undefined) clearTimeout(this.timeout);
    this.timer = undefined;
    this.timeout = undefined;
    this.abort?.abort();
    this.abort = undefined;
    this.prober?.close();
    this.prober = undefined;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => this.run(), delayMs);
    this.timer.unref();
  }

  private run(): void {
    this.timer = undefined;
    const prober = this.prober;
    if (prober === undefined) return;
    const id = ++this.checks;
    this.inFlight = id;
    const abort = new AbortController();
    this.abort = abort;
    this.timeout = setTimeout(() => {
      abort.abort();
      this.done(id, failed('network', 'timeout'));
    }, this.owner.config.timeoutMs);
    this.timeout.unref();
    this.owner.checkStarted(this);
    prober.check(abort.signal).then(
      (result) => this.done(id, result),
      (err: unknown) => this.done(id, failed('network', String(err))),
    );
  }

  private done(id: number, result: ProbeResult): void {
    if (id !== this.inFlight) return;
    this.inFlight = 0;
    this.abort = undefined;
    if (this.timeout !== undefined) clearTimeout(this.timeout);
    this.timeout = undefined;
    const config = this.owner.config;
    const generation = this.generation;
    const transition = applyResult(this.state, result, config);
    this.owner.checkDone(this, result, transition);
    if (generation !== this.generation) return; // a listener stopped us
    this.schedule(
      nextIntervalMs(config, result.ok, transition, this.state.healthy, this.owner.hadTraffic(), this.owner.random),
    );
  }
}
