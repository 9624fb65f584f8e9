// Envoy's outlier detection as a pure state machine over host keys: results and interval ticks go in with the time,
// ejections and un-ejections come out as events. No timers, no I/O; randomness is injected.
import type { OutlierSettings } from './outlier-settings.ts';
import { failurePercentageOutliers, type RateSample, type RequestCounts, successRateOutliers } from './success-rate.ts';

/**
 * One upstream result. `status`: the upstream answered (HTTP status). `localOrigin` without a status: the sidecar's
 * own view of the connection: 'success' = connected and done (TCP), failures = connect failure / timeout / reset.
 */
export interface OutlierResult {
  status?: number;
  localOrigin?: 'connect-failure' | 'timeout' | 'reset' | 'success';
}

/** Envoy's OutlierEjectionType names (the stat suffixes). */
export type EjectionCause =
  | 'consecutive_5xx'
  | 'consecutive_gateway_failure'
  | 'consecutive_local_origin_failure'
  | 'success_rate'
  | 'local_origin_success_rate'
  | 'failure_percentage'
  | 'local_origin_failure_percentage';

export type OutlierEvent<K> =
  /** A detector flagged the host: ejected, not ejected by the enforcing dice, or refused by max_ejection_percent. */
  | { type: 'detected'; key: K; cause: EjectionCause; outcome: 'ejected' | 'not-enforced' | 'overflow' }
  | { type: 'ejected'; key: K; cause: EjectionCause; durationMs: number }
  | { type: 'unejected'; key: K; reason: 'expired' | 'health-check' };

interface HostState {
  consecutive5xx: number;
  consecutiveGateway: number;
  consecutiveLocal: number;
  /** This interval's counts (written) and the last full interval's (read by the interval detectors). */
  external: RequestCounts;
  local: RequestCounts;
  ejected: boolean;
  ejectedAt: number;
  /** Ejection multiplier: grows with each ejection (capped), shrinks by one per healthy interval. */
  backoff: number;
  numEjections: number;
  jitterMs: number;
  unejectedAt: number | undefined;
}

export interface OutlierStateOptions<K> {
  /** Uniform in [0, 1); Math.random by default. */
  random?: () => number;
  onEvent?: (event: OutlierEvent<K>) => void;
}

const NEVER = { minimumHosts: Number.POSITIVE_INFINITY, requestVolume: Number.POSITIVE_INFINITY };

export class OutlierState<K> {
  settings: OutlierSettings;
  private readonly hosts = new Map<K, HostState>();
  private active = 0;
  private readonly random: () => number;
  private readonly emit: (event: OutlierEvent<K>) => void;

  constructor(settings: OutlierSettings, options: OutlierStateOptions<K> = {}) {
    this.settings = settings;
    this.random = options.random ?? Math.random;
    this.emit = options.onEvent ?? (() => {});
  }

  /** Brings the tracked set in line with `keys`: new hosts start clean, gone hosts (ejected or not) are forgotten. */
  setHosts(keys: Iterable<K>): void {
    const keep = new Set(keys);
    for (const [key, host] of this.hosts) {
      if (keep.has(key)) continue;
      if (host.ejected) this.active--;
      this.hosts.delete(key);
    }
    for (const key of keep) if (!this.hosts.has(key)) this.hosts.set(key, newHost());
  }

  isEjected(key: K): boolean {
    return this.hosts.get(key)?.ejected === true;
  }

  get ejectedCount(): number {
    return this.active;
  }

  get hostCount(): number {
    return this.hosts.size;
  }

  /** The ejection multiplier of a host (0 for a host never ejected, or fully decayed). */
  backoff(key: K): number {
    return this.hosts.get(key)?.backoff ?? 0;
  }

  /** When an ejected host becomes eligible for un-ejection (the first tick at or after this time releases it). */
  ejectedUntil(key: K): number | undefined {
    const h = this.hosts.get(key);
    return h?.ejected === true ? h.ejectedAt + this.ejectionTimeMs(h) : undefined;
  }

  /** Feeds one upstream result (Envoy putResult / putHttpResponseCode); consecutive detectors may eject at once. */
  record(key: K, result: OutlierResult, now: number): void {
    const h = this.hosts.get(key);
    if (h === undefined) return;
    const split = this.settings.splitExternalLocalOriginErrors;
    const status = result.status;
    if (status !== undefined) {
      this.httpStatus(key, h, status, now);
      if (split) localSuccess(h);
      return;
    }
    const origin = result.localOrigin;
    if (origin === undefined) return;
    if (split) {
      if (origin === 'success') localSuccess(h);
      else this.localFailure(key, h, now);
    } else {
      this.httpStatus(key, h, origin === 'success' ? 200 : origin === 'timeout' ? 504 : 503, now);
    }
  }

  /** The interval sweep: un-eject expired hosts, run the success-rate and failure-percentage detectors, decay. */
  tick(now: number): void {
    const s = this.settings;
    for (const [key, h] of this.hosts) {
      if (h.ejected && this.ejectionTimeMs(h) <= now - h.ejectedAt) this.uneject(key, h, now, 'expired');
    }
    const external: RateSample<K>[] = [];
    const local: RateSample<K>[] = [];
    for (const [key, h] of this.hosts) {
      if (!h.ejected) {
        if (h.external.total > 0) external.push(sample(key, h.external));
        if (h.local.total > 0) local.push(sample(key, h.local));
      }
      h.external.success = 0;
      h.external.total = 0;
      h.local.success = 0;
      h.local.total = 0;
    }
    this.intervalDetectors(external, 'success_rate', 'failure_percentage', now);
    this.intervalDetectors(local, 'local_origin_success_rate', 'local_origin_failure_percentage', now);
    for (const h of this.hosts.values()) {
      if (!h.ejected && h.unejectedAt !== undefined && now - h.unejectedAt >= s.intervalMs && h.backoff > 0) {
        h.backoff--;
      }
    }
  }

  /** A passing active health check releases an ejected host (successful_active_health_check_uneject_host). */
  healthCheckPassed(key: K, now: number): void {
    const h = this.hosts.get(key);
    if (h?.ejected === true && this.settings.successfulActiveHealthCheckUnejectHost) {
      this.uneject(key, h, now, 'health-check');
    }
  }

  private httpStatus(key: K, h: HostState, status: number, now: number): void {
    const s = this.settings;
    h.external.total++;
    if (status < 500 || status > 599) {
      h.external.success++;
      h.consecutive5xx = 0;
      h.consecutiveGateway = 0;
      return;
    }
    if (status >= 502 && status <= 504) {
      if (++h.consecutiveGateway === s.consecutiveGatewayFailure) {
        this.consecutive(key, h, 'consecutive_gateway_failure', now);
      }
    } else {
      h.consecutiveGateway = 0;
    }
    if (++h.consecutive5xx === s.consecutive5xx) this.consecutive(key, h, 'consecutive_5xx', now);
  }

  private localFailure(key: K, h: HostState, now: number): void {
    h.local.total++;
    if (++h.consecutiveLocal === this.settings.consecutiveLocalOriginFailure) {
      this.consecutive(key, h, 'consecutive_local_origin_failure', now);
    }
  }

  /** A consecutive detector fired: ignored while ejected (its counter keeps growing until un-ejection resets it). */
  private consecutive(key: K, h: HostState, cause: EjectionCause, now: number): void {
    if (h.ejected) return;
    this.eject(key, h, cause, now);
    if (cause === 'consecutive_5xx') h.consecutive5xx = 0;
    else if (cause === 'consecutive_gateway_failure') h.consecutiveGateway = 0;
    else h.consecutiveLocal = 0;
  }

  private intervalDetectors(
    samples: RateSample<K>[],
    srCause: EjectionCause,
    fpCause: EjectionCause,
    now: number,
  ): void {
    const sr = this.settings.successRate ?? NEVER;
    const fp = this.settings.failurePercentage ?? NEVER;
    const n = this.hosts.size;
    if (samples.length === 0 || (n < sr.minimumHosts && n < fp.minimumHosts)) return;
    if (this.settings.successRate !== undefined) {
      for (const key of successRateOutliers(samples, this.settings.successRate)) this.intervalEject(key, srCause, now);
    }
    if (this.settings.failurePercentage !== undefined) {
      for (const key of failurePercentageOutliers(samples, this.settings.failurePercentage)) {
        this.intervalEject(key, fpCause, now);
      }
    }
  }

  private intervalEject(key: K, cause: EjectionCause, now: number): void {
    const h = this.hosts.get(key);
    if (h !== undefined && !h.ejected) this.eject(key, h, cause, now);
  }

  /** Envoy ejectHost: max_ejection_percent (unless always_eject_one_host and none is ejected), then the dice. */
  private eject(key: K, h: HostState, cause: EjectionCause, now: number): void {
    const s = this.settings;
    let allowed = (100 * (this.active + 1)) / this.hosts.size <= s.maxEjectionPercent;
    if (s.alwaysEjectOneHost && this.active === 0) allowed = true;
    if (!allowed) {
      this.emit({ type: 'detected', key, cause, outcome: 'overflow' });
      return;
    }
    if (this.random() * 100 >= enforcingOf(s, cause)) {
      this.emit({ type: 'detected', key, cause, outcome: 'not-enforced' });
      return;
    }
    this.active++;
    h.ejected = true;
    h.ejectedAt = now;
    h.numEjections++;
    h.jitterMs = Math.floor(this.random() * (s.maxEjectionTimeJitterMs + 1));
    if (h.backoff * s.baseEjectionTimeMs < s.maxEjectionTimeMs + s.baseEjectionTimeMs) h.backoff++;
    this.emit({ type: 'detected', key, cause, outcome: 'ejected' });
    this.emit({ type: 'ejected', key, cause, durationMs: this.ejectionTimeMs(h) });
  }

  private uneject(key: K, h: HostState, now: number, reason: 'expired' | 'health-check'): void {
    this.active--;
    h.ejected = false;
    h.unejectedAt = now;
    h.consecutive5xx = 0;
    h.consecutiveGateway = 0;
    h.consecutiveLocal = 0;
    this.emit({ type: 'unejected', key, reason });
  }

  /** min(base × multiplier, max) + this ejection's jitter. */
  private ejectionTimeMs(h: HostState): number {
    const s = this.settings;
    return Math.min(s.baseEjectionTimeMs * h.backoff, s.maxEjectionTimeMs) + h.jitterMs;
  }
}

function newHost(): HostState {
  return {
    consecutive5xx: 0,
    consecutiveGateway: 0,
    consecutiveLocal: 0,
    external: { success: 0, total: 0 },
    local: { success: 0, total: 0 },
    ejected: false,
    ejectedAt: 0,
    backoff: 0,
    numEjections: 0,
    jitterMs: 0,
    unejectedAt: undefined,
  };
}

function localSuccess(h: HostState): void {
  h.local.total++;
  h.local.success++;
  h.consecutiveLocal = 0;
}

function sample<K>(key: K, counts: RequestCounts): RateSample<K> {
  return { key, rate: (counts.success * 100) / counts.total, volume: counts.total };
}

function enforcingOf(s: OutlierSettings, cause: EjectionCause): number {
  const e = s.enforcing;
  switch (cause) {
    case 'consecutive_5xx':
      return e.consecutive5xx;
    case 'consecutive_gateway_failure':
      return e.consecutiveGatewayFailure;
    case 'consecutive_local_origin_failure':
      return e.consecutiveLocalOriginFailure;
    case 'success_rate':
      return e.successRate;
    case 'local_origin_success_rate':
      return e.localOriginSuccessRate;
    case 'failure_percentage':
      return e.failurePercentage;
    case 'local_origin_failure_percentage':
      return e.failurePercentageLocalOrigin;
  }
}
