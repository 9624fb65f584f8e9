// One cluster's outlier detector: the pure OutlierState keyed by Host, driven by an interval timer, reporting
// ejections to listeners and to Envoy-named stats (cluster.<name>.outlier_detection.*).
import type { Logger } from 'pino';
import type { Stats } from '../../common/stats.ts';
import type { OutlierDetectionConfig } from '../../config/model.ts';
import type { Host } from '../host/host.ts';
import { outlierSettings } from './outlier-settings.ts';
import { type EjectionCause, type OutlierEvent, type OutlierResult, OutlierState } from './outlier-state.ts';

export type { EjectionCause, OutlierResult } from './outlier-state.ts';

/** Called when a host is ejected (true) or returns (false). */
export type EjectionListener = (host: Host, ejected: boolean) => void;

export interface OutlierDetectorOptions {
  stats: Stats;
  logger?: Logger | undefined;
  /** Monotonic milliseconds; performance.now by default. */
  now?: () => number;
  random?: () => number;
}

const CAUSES: readonly EjectionCause[] = [
  'consecutive_5xx',
  'consecutive_gateway_failure',
  'consecutive_local_origin_failure',
  'success_rate',
  'local_origin_success_rate',
  'failure_percentage',
  'local_origin_failure_percentage',
];

export class OutlierDetector {
  readonly cluster: string;
  private readonly state: OutlierState<Host>;
  private readonly listeners = new Set<EjectionListener>();
  private readonly stats: Stats;
  private readonly logger: Logger | undefined;
  private readonly now: () => number;
  private readonly names: {
    total: string;
    overflow: string;
    enforced: Map<string, string>;
    detected: Map<string, string>;
  };
  private readonly unregisterGauge: () => void;
  private timer: NodeJS.Timeout | undefined;
  private intervalMs: number;

  constructor(cluster: string, config: OutlierDetectionConfig, options: OutlierDetectorOptions) {
    this.cluster = cluster;
    this.stats = options.stats;
    this.logger = options.logger;
    this.now = options.now ?? (() => performance.now());
    const settings = outlierSettings(config);
    this.state = new OutlierState<Host>(settings, {
      ...(options.random === undefined ? {} : { random: options.random }),
      onEvent: (e) => this.onEvent(e),
    });
    const p = `cluster.${cluster}.outlier_detection.`;
    this.names = {
      total: `${p}ejections_enforced_total`,
      overflow: `${p}ejections_overflow`,
      enforced: new Map(CAUSES.map((c) => [c, `${p}ejections_enforced_${c}`])),
      detected: new Map(CAUSES.map((c) => [c, `${p}ejections_detected_${c}`])),
    };
    this.unregisterGauge = this.stats.gauge(`${p}ejections_active`, () => this.state.ejectedCount);
    this.intervalMs = settings.intervalMs;
    this.arm();
  }

  /** The cluster's current hosts (after every EDS change); hosts that left are forgotten, even if ejected. */
  setHosts(hosts: Iterable<Host>): void {
    this.state.setHosts(hosts);
  }

  /** One upstream result from the HTTP or TCP path (cheap: a map lookup and a few counters). */
  recordResult(host: Host, result: OutlierResult): void {
    this.state.record(host, result, this.now());
  }

  isEjected(host: Host): boolean {
    return this.state.isEjected(host);
  }

  get ejectedCount(): number {
    return this.state.ejectedCount;
  }

  /** A passing active health check (un-ejects unless successful_active_health_check_uneject_host is false). */
  healthCheckPassed(host: Host): void {
    this.state.healthCheckPassed(host, this.now());
  }

  onChange(listener: EjectionListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** New settings; ejections, counters and multipliers carry over. */
  updateConfig(config: OutlierDetectionConfig): void {
    const settings = outlierSettings(config);
    this.state.settings = settings;
    if (settings.intervalMs !== this.intervalMs) {
      this.intervalMs = settings.intervalMs;
      this.arm();
    }
  }

  /** Runs the interval sweep now (the timer calls this). */
  tick(): void {
    this.state.tick(this.now());
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.unregisterGauge();
    this.listeners.clear();
  }

  private arm(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private onEvent(e: OutlierEvent<Host>): void {
    if (e.type === 'detected') {
      this.stats.inc(this.names.detected.get(e.cause) as string);
      if (e.outcome === 'overflow') this.stats.inc(this.names.overflow);
      return;
    }
    if (e.type === 'ejected') {
      this.stats.inc(this.names.total);
      this.stats.inc(this.names.enforced.get(e.cause) as string);
      this.logger?.info(
        { cluster: this.cluster, host: e.key.key, cause: e.cause, durationMs: e.durationMs },
        'outlier ejected',
      );
      this.emit(e.key, true);
      return;
    }
    this.logger?.info({ cluster: this.cluster, host: e.key.key, reason: e.reason }, 'outlier returned');
    this.emit(e.key, false);
  }

  private emit(host: Host, ejected: boolean): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(host, ejected);
      } catch (err) {
        this.logger?.error({ err, cluster: this.cluster }, 'outlier listener failed');
      }
    }
  }
}
