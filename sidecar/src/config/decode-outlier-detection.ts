// Decodes a Cluster's outlier_detection (config.cluster.v3.OutlierDetection) with Envoy's defaults and limits.
import { at, durationMs, fail, type Obj, optObj, wrappedBool, wrappedNum } from './decode-values.ts';
import type { OutlierDetectionConfig, OutlierEnforcing } from './model.ts';

/** Envoy's default cap on an ejection (or base_ejection_time when that is larger). */
export const DEFAULT_MAX_EJECTION_TIME_MS = 300_000;

/** A UInt32Value field: an integer 0..max (max 100 for percentages). */
function u32(o: Obj, field: string, path: string, fallback: number, max = 0xffff_ffff): number {
  const p = at(path, field);
  const n = wrappedNum(o[field], p, fallback);
  if (!Number.isInteger(n) || n < 0 || n > max) fail(p, `expected an integer from 0 to ${max}, got ${n}`);
  return n;
}

/** A Duration field that must be above zero when present. */
function positiveMs(o: Obj, field: string, path: string, fallback: number): number {
  const ms = durationMs(o[field], at(path, field), fallback);
  if (ms <= 0) fail(at(path, field), 'must be above 0');
  return ms;
}

function enforcing(o: Obj, path: string, split: boolean): OutlierEnforcing {
  const pct = (field: string, fallback: number): number => u32(o, field, path, fallback, 100);
  return {
    consecutive5xx: pct('enforcing_consecutive_5xx', 100),
    consecutiveGatewayFailure: pct('enforcing_consecutive_gateway_failure', 0),
    // Local-origin detectors exist only when local-origin errors are counted apart.
    consecutiveLocalOriginFailure: split ? pct('enforcing_consecutive_local_origin_failure', 100) : 0,
    successRate: pct('enforcing_success_rate', 100),
    localOriginSuccessRate: split ? pct('enforcing_local_origin_success_rate', 100) : 0,
    failurePercentage: pct('enforcing_failure_percentage', 0),
    failurePercentageLocalOrigin: split ? pct('enforcing_failure_percentage_local_origin', 0) : 0,
  };
}

/**
 * outlier_detection, or undefined when the cluster has none. A consecutive detector is present when its enforcing
 * percentage and threshold are above 0; success rate / failure percentage settings when either origin enforces them.
 */
export function outlierDetection(v: unknown, path = 'outlier_detection'): OutlierDetectionConfig | undefined {
  const o = optObj(v, path);
  if (!o) return undefined;
  const n = (field: string, fallback: number, max?: number): number => u32(o, field, path, fallback, max);
  const split = o['split_external_local_origin_errors'] === true;
  const baseEjectionTimeMs = positiveMs(o, 'base_ejection_time', path, 30_000);
  const maxEjectionTimeMs = positiveMs(
    o,
    'max_ejection_time',
    path,
    Math.max(DEFAULT_MAX_EJECTION_TIME_MS, baseEjectionTimeMs),
  );
  if (maxEjectionTimeMs < baseEjectionTimeMs) fail(at(path, 'max_ejection_time'), 'smaller than base_ejection_time');
  const enforce = enforcing(o, path, split);
  const config: OutlierDetectionConfig = {
    intervalMs: positiveMs(o, 'interval', path, 10_000),
    baseEjectionTimeMs,
    maxEjectionPercent: n('max_ejection_percent', 10, 100),
    maxEjectionTimeMs,
    maxEjectionTimeJitterMs: durationMs(o['max_ejection_time_jitter'], at(path, 'max_ejection_time_jitter'), 0),
    splitExternalLocalOriginErrors: split,
    alwaysEjectOneHost: wrappedBool(o['always_eject_one_host'], at(path, 'always_eject_one_host'), false),
    successfulActiveHealthCheckUnejectHost: wrappedBool(
      o['successful_active_health_check_uneject_host'],
      at(path, 'successful_active_health_check_uneject_host'),
      true,
    ),
    enforcing: enforce,
  };
  const consecutive5xx = n('consecutive_5xx', 5);
  if (enforce.consecutive5xx > 0 && consecutive5xx > 0) config.consecutive5xx = consecutive5xx;
  const gateway = n('consecutive_gateway_failure', 5);
  if (enforce.consecutiveGatewayFailure > 0 && gateway > 0) config.consecutiveGatewayFailure = gateway;
  const local = n('consecutive_local_origin_failure', 5);
  if (enforce.consecutiveLocalOriginFailure > 0 && local > 0) config.consecutiveLocalOriginFailure = local;
  const successRate = {
    minimumHosts: n('success_rate_minimum_hosts', 5),
    requestVolume: n('success_rate_request_volume', 100),
    stdevFactor: n('success_rate_stdev_factor', 1900) / 1000,
  };
  if (enforce.successRate > 0 || enforce.localOriginSuccessRate > 0) config.successRate = successRate;
  const failurePercentage = {
    threshold: n('failure_percentage_threshold', 85, 100),
    minimumHosts: n('failure_percentage_minimum_hosts', 5),
    requestVolume: n('failure_percentage_request_volume', 50),
  };
  if (enforce.failurePercentage > 0 || enforce.failurePercentageLocalOrigin > 0) {
    config.failurePercentage = failurePercentage;
  }
  return config;
}
