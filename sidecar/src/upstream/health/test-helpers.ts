// Test helpers for health checks: hosts on loopback, fast check configs, and waiting on a checker's events.

import { Stats } from '../../common/stats.ts';
import type { HealthCheckConfig, HealthProbe } from '../../config/model.ts';
import { type Host, newHostStats } from '../host/host.ts';
import type { ProbeResult } from './health-check-state.ts';
import { HealthChecker, type HealthCheckerOptions } from './health-checker.ts';

export function loopbackHost(port: number, address = '127.0.0.1'): Host {
  return {
    key: `${address}:${port}`,
    address,
    port,
    weight: 1,
    zone: '',
    priority: 0,
    healthy: true,
    stats: newHostStats(),
  };
}

/** A check every 15 ms with a 300 ms timeout and thresholds 2/2, unless overridden. */
export function fastCheck(probe: HealthProbe, overrides: Partial<HealthCheckConfig> = {}): HealthCheckConfig {
  return {
    probe,
    timeoutMs: 300,
    intervalMs: 15,
    initialJitterMs: 0,
    intervalJitterMs: 0,
    intervalJitterPercent: 0,
    healthyThreshold: 2,
    unhealthyThreshold: 2,
    reuseConnection: true,
    ...overrides,
  };
}

/** One recorded check: its result and the host's health after it. */
export interface CheckRecord {
  result: ProbeResult;
  healthy: boolean;
}

/** A checker on one host that records every check and lets a test await health changes. */
export class Watched {
  readonly checker: HealthChecker;
  readonly host: Host;
  readonly stats: Stats;
  readonly checks: CheckRecord[] = [];

  constructor(config: HealthCheckConfig, host: Host, options: Partial<HealthCheckerOptions> = {}) {
    this.stats = options.stats ?? new Stats();
    this.host = host;
    this.checker = new HealthChecker('svc|80', config, { ...options, stats: this.stats });
    this.checker.onCheck((h, result, healthy) => {
      if (h === host) this.checks.push({ result, healthy });
    });
    this.checker.setHosts([host]);
  }

  /** Resolves with the index in `checks` of the check that turned the host to `healthy`. */
  becomes(healthy: boolean): Promise<number> {
    return new Promise((resolve) => {
      const off = this.checker.onChange((h, now) => {
        if (h !== this.host || now !== healthy) return;
        off();
        resolve(this.checks.length - 1);
      });
    });
  }

  /** Resolves once `n` more checks have completed. */
  checksDone(n: number): Promise<void> {
    return new Promise((resolve) => {
      let left = n;
      const off = this.checker.onCheck((h) => {
        if (h !== this.host || --left > 0) return;
        off();
        resolve();
      });
    });
  }

  close(): void {
    this.checker.close();
  }
}
