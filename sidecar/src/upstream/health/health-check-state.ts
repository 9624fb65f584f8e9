// Envoy's active health check bookkeeping as pure functions: thresholds and transitions per host, and how long to
// wait before the next check (edge / unhealthy / no-traffic intervals plus jitter).
import type { HealthCheckConfig } from '../../config/model.ts';

/**
 * What one check found. 'active': the host answered wrongly (bad status, NOT_SERVING, body mismatch), which fails it
 * at once; 'network' (connect failure, reset, timeout) and 'retriable' (a retriable status) count towards
 * unhealthyThreshold.
 */
export type ProbeResult = { ok: true } | { ok: false; kind: 'active' | 'network' | 'retriable'; detail: string };

/** A failed check. */
export function failed(kind: 'active' | 'network' | 'retriable', detail: string): ProbeResult {
  return { ok: false, kind, detail };
}

export const PASSED: ProbeResult = { ok: true };

/** The message of anything thrown or emitted as an error. */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

export type HealthTransition = 'unchanged' | 'changed' | 'change-pending';

export interface HostCheckState {
  healthy: boolean;
  /** No check has completed yet (a failing host then needs only one success, as in Envoy). */
  firstCheck: boolean;
  successes: number;
  failures: number;
}

export const DEFAULT_NO_TRAFFIC_INTERVAL_MS = 60_000;

export function newHostCheckState(healthy: boolean): HostCheckState {
  return { healthy, firstCheck: true, successes: 0, failures: 0 };
}

/** Applies one result to a host's state (in place) and says whether its health flipped, may flip, or stays. */
export function applyResult(
  state: HostCheckState,
  result: ProbeResult,
  thresholds: { healthyThreshold: number; unhealthyThreshold: number },
): HealthTransition {
  const first = state.firstCheck;
  state.firstCheck = false;
  if (result.ok) {
    state.failures = 0;
    if (state.healthy) return 'unchanged';
    if (first || ++state.successes >= thresholds.healthyThreshold) {
      state.healthy = true;
      state.successes = 0;
      return 'changed';
    }
    return 'change-pending';
  }
  state.successes = 0;
  if (!state.healthy) return 'unchanged';
  if (result.kind === 'active' || ++state.failures >= thresholds.unhealthyThreshold) {
    state.healthy = false;
    state.failures = 0;
    return 'changed';
  }
  return 'change-pending';
}

/**
 * The wait before a host's next check (Envoy HealthCheckerImplBase::interval): without traffic yet, the no-traffic
 * interval; after a failure, the unhealthy-edge interval while the host is still healthy, else the unhealthy
 * interval; after a success, the healthy-edge interval while the host is still unhealthy, else the interval. Then
 * jitter: up to intervalJitterPercent of it, plus up to intervalJitterMs.
 */
export function nextIntervalMs(
  config: HealthCheckConfig,
  passed: boolean,
  transition: HealthTransition,
  hostHealthy: boolean,
  hadTraffic: boolean,
  random: () => number,
): number {
  let base: number;
  if (!hadTraffic) {
    const noTraffic = config.noTrafficIntervalMs ?? DEFAULT_NO_TRAFFIC_INTERVAL_MS;
    base = hostHealthy ? (config.noTrafficHealthyIntervalMs ?? noTraffic) : noTraffic;
  } else if (!passed) {
    const unhealthy = config.unhealthyIntervalMs ?? config.intervalMs;
    base = transition === 'change-pending' ? (config.unhealthyEdgeIntervalMs ?? unhealthy) : unhealthy;
  } else {
    base = transition === 'change-pending' ? (config.healthyEdgeIntervalMs ?? config.intervalMs) : config.intervalMs;
  }
  return withJitter(base, config, random);
}

export function withJitter(
  baseMs: number,
  config: { intervalJitterPercent: number; intervalJitterMs: number },
  random: () => number,
): number {
  let ms = baseMs;
  const percentJitter = Math.floor((config.intervalJitterPercent * baseMs) / 100);
  if (percentJitter > 0) ms += Math.floor(random() * percentJitter);
  if (config.intervalJitterMs > 0) ms += Math.floor(random() * config.intervalJitterMs);
  return ms;
}

/** Whether a status falls in any of the half-open ranges. */
export function inRanges(status: number, ranges: readonly { start: number; end: number }[]): boolean {
  for (const r of ranges) if (status >= r.start && status < r.end) return true;
  return false;
}

/**
 * Envoy's fuzzy payload match: every block appears in `data`, in order, not necessarily adjacent. No blocks = match.
 */
export function payloadMatches(blocks: readonly Uint8Array[], data: Uint8Array): boolean {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let from = 0;
  for (const block of blocks) {
    const at = buf.indexOf(block, from);
    if (at < 0) return false;
    from = at + block.length;
  }
  return true;
}
