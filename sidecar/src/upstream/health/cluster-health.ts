// The health of one cluster's hosts, for the cluster manager: its active health checker and outlier detector (each
// only while configured), kept in step with the ClusterConfig and the host set, combined into isHealthy(host).
import type { Logger } from 'pino';
import type { Stats } from '../../common/stats.ts';
import type { ClusterConfig } from '../../config/model.ts';
import type { Host } from '../host/host.ts';
import { OutlierDetector, type OutlierResult } from '../outlier/outlier-detector.ts';
import { HealthChecker, type HealthCheckerOptions } from './health-checker.ts';
import { DEFAULT_PANIC_THRESHOLD_PERCENT, effectiveHealth } from './host-health.ts';
import type { ProberFactory } from './prober.ts';

/** What changed for a host: its active-HC verdict and its ejection (EDS health is the caller's). */
export interface HostHealthState {
  activeHealthy: boolean;
  ejected: boolean;
}

export type HostHealthListener = (host: Host, state: HostHealthState) => void;

export interface ClusterHealthOptions {
  stats: Stats;
  logger?: Logger | undefined;
  random?: () => number;
  /** Monotonic ms for the outlier detector (performance.now by default). */
  now?: () => number;
  /** See HealthCheckerOptions.hadTraffic (e.g. () => cluster.stats.upstreamRequests > 0). */
  hadTraffic?: () => boolean;
  initialHealth?: HealthCheckerOptions['initialHealth'];
  createProber?: ProberFactory;
  /** See HealthCheckerOptions.connect: checks go through the cluster's transport socket. */
  connect?: HealthCheckerOptions['connect'];
}

export class ClusterHealth {
  readonly name: string;
  /** common_lb_config.healthy_panic_threshold (Envoy default 50). */
  panicThresholdPercent: number;
  private checker: HealthChecker | undefined;
  private detector: OutlierDetector | undefined;
  private hosts: readonly Host[] = [];
  private readonly listeners = new Set<HostHealthListener>();
  private readonly options: ClusterHealthOptions;

  constructor(config: ClusterConfig, options: ClusterHealthOptions) {
    this.name = config.name;
    this.options = options;
    this.panicThresholdPercent = DEFAULT_PANIC_THRESHOLD_PERCENT;
    this.update(config);
  }

  /** Whether anything beyond EDS decides host health (health checks or outlier detection configured). */
  get enabled(): boolean {
    return this.checker !== undefined || this.detector !== undefined;
  }

  /** Applies a new ClusterConfig: checkers and detectors start, change or stop as the config says. */
  update(config: ClusterConfig): void {
    this.panicThresholdPercent = config.healthyPanicThresholdPercent ?? DEFAULT_PANIC_THRESHOLD_PERCENT;
    const check = config.healthChecks?.[0];
    if (check === undefined) {
      this.checker?.close();
      this.checker = undefined;
    } else if (this.checker === undefined) {
      this.checker = this.newChecker(check);
    } else {
      this.checker.updateConfig(check);
    }
    const od = config.outlierDetection;
    if (od === undefined) {
      this.detector?.close();
      this.detector = undefined;
    } else if (this.detector === undefined) {
      this.detector = this.newDetector(od);
    } else {
      this.detector.updateConfig(od);
    }
  }

  /** The cluster's hosts after every endpoint change (same Host objects for endpoints that stay). */
  setHosts(hosts: readonly Host[]): void {
    this.hosts = hosts;
    this.checker?.setHosts(hosts);
    this.detector?.setHosts(hosts);
  }

  /** effectiveHealth: EDS (`edsHealthy`, default host.healthy) && active HC passing && not ejected. */
  isHealthy(host: Host, edsHealthy: boolean = host.healthy): boolean {
    return effectiveHealth(host, { edsHealthy, active: this.checker, outlier: this.detector });
  }

  state(host: Host): HostHealthState {
    return {
      activeHealthy: this.checker?.isHealthy(host) ?? true,
      ejected: this.detector?.isEjected(host) ?? false,
    };
  }

  /** One upstream result for outlier detection (a no-op without it). */
  recordResult(host: Host, result: OutlierResult): void {
    this.detector?.recordResult(host, result);
  }

  /** Subscribes to active-HC and ejection changes of hosts; returns unsubscribe. */
  onChange(listener: HostHealthListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Stops checking and detecting (the cluster left the config). */
  close(): void {
    this.checker?.close();
    this.detector?.close();
    this.checker = undefined;
    this.detector = undefined;
    this.listeners.clear();
  }

  private newChecker(check: NonNullable<ClusterConfig['healthChecks']>[number]): HealthChecker {
    const o = this.options;
    const checker = new HealthChecker(this.name, check, {
      stats: o.stats,
      logger: o.logger,
      ...(o.random === undefined ? {} : { random: o.random }),
      ...(o.hadTraffic === undefined ? {} : { hadTraffic: o.hadTraffic }),
      ...(o.initialHealth === undefined ? {} : { initialHealth: o.initialHealth }),
      ...(o.createProber === undefined ? {} : { createProber: o.createProber }),
      ...(o.connect === undefined ? {} : { connect: o.connect }),
    });
    checker.onChange((host) => this.emit(host));
    // Envoy: a passing active check un-ejects an outlier (successful_active_health_check_uneject_host).
    checker.onCheck((host, result, healthy) => {
      if (result.ok && healthy) this.detector?.healthCheckPassed(host);
    });
    checker.setHosts(this.hosts);
    return checker;
  }

  private newDetector(od: NonNullable<ClusterConfig['outlierDetection']>): OutlierDetector {
    const o = this.options;
    const detector = new OutlierDetector(this.name, od, {
      stats: o.stats,
      logger: o.logger,
      ...(o.now === undefined ? {} : { now: o.now }),
      ...(o.random === undefined ? {} : { random: o.random }),
    });
    detector.onChange((host) => this.emit(host));
    detector.setHosts(this.hosts);
    return detector;
  }

  private emit(host: Host): void {
    const state = this.state(host);
    for (const listener of [...this.listeners]) {
      try {
        listener(host, state);
      } catch (err) {
        this.options.logger?.error({ err, cluster: this.name }, 'host health listener failed');
      }
    }
  }
}
