// OutlierDetectionConfig with every Envoy default filled in: what the outlier state machine reads.

import { DEFAULT_MAX_EJECTION_TIME_MS } from '../../config/decode-outlier-detection.ts';
import type { OutlierDetectionConfig, OutlierEnforcing } from '../../config/model.ts';

export interface OutlierSettings {
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionTimeMs: number;
  maxEjectionTimeJitterMs: number;
  maxEjectionPercent: number;
  alwaysEjectOneHost: boolean;
  splitExternalLocalOriginErrors: boolean;
  successfulActiveHealthCheckUnejectHost: boolean;
  /** 0 = detector off. */
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  consecutiveLocalOriginFailure: number;
  /** undefined = detector off. */
  successRate: { minimumHosts: number; requestVolume: number; stdevFactor: number } | undefined;
  failurePercentage: { threshold: number; minimumHosts: number; requestVolume: number } | undefined;
  enforcing: OutlierEnforcing;
}

/** A hand-built config without `enforcing` enforces every detector it names. */
const ENFORCE_ALL: OutlierEnforcing = {
  consecutive5xx: 100,
  consecutiveGatewayFailure: 100,
  consecutiveLocalOriginFailure: 100,
  successRate: 100,
  localOriginSuccessRate: 100,
  failurePercentage: 100,
  failurePercentageLocalOrigin: 100,
};

export function outlierSettings(config: OutlierDetectionConfig): OutlierSettings {
  const split = config.splitExternalLocalOriginErrors ?? false;
  return {
    intervalMs: config.intervalMs,
    baseEjectionTimeMs: config.baseEjectionTimeMs,
    maxEjectionTimeMs: config.maxEjectionTimeMs ?? Math.max(DEFAULT_MAX_EJECTION_TIME_MS, config.baseEjectionTimeMs),
    maxEjectionTimeJitterMs: config.maxEjectionTimeJitterMs ?? 0,
    maxEjectionPercent: Math.min(100, config.maxEjectionPercent),
    alwaysEjectOneHost: config.alwaysEjectOneHost ?? false,
    splitExternalLocalOriginErrors: split,
    successfulActiveHealthCheckUnejectHost: config.successfulActiveHealthCheckUnejectHost ?? true,
    consecutive5xx: config.consecutive5xx ?? 0,
    consecutiveGatewayFailure: config.consecutiveGatewayFailure ?? 0,
    consecutiveLocalOriginFailure: split ? (config.consecutiveLocalOriginFailure ?? 0) : 0,
    successRate: config.successRate,
    failurePercentage: config.failurePercentage,
    enforcing: config.enforcing ?? ENFORCE_ALL,
  };
}
