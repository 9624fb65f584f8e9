// Cluster.outlier_detection: only the detectors an operator configured enforce (enforcing_* 100, the others 0).

import type { ClientKind } from '@trellis/node-contract';
import type { OutlierDetection } from '../resources/types.ts';
import { compact, durationOf, u32 } from './proto-values.ts';

const ON = 100;
const OFF = 0;

function optU32(value: number | undefined): { value: number } | undefined {
  return value === undefined ? undefined : u32(value);
}

/**
 * The fields gRPC proxyless clients honour: timings, success-rate and failure-percentage ejection. Success rate is
 * on by default in Envoy and gRPC, so it is switched off explicitly unless configured.
 */
function statisticalFields(od: OutlierDetection): Record<string, unknown> {
  const sr = od.successRate;
  const fp = od.failurePercentage;
  return compact({
    interval: durationOf(od.interval),
    base_ejection_time: durationOf(od.baseEjectionTime),
    max_ejection_time: durationOf(od.maxEjectionTime),
    max_ejection_percent:
      od.maxEjectionPercent === undefined ? undefined : u32(Math.min(100, Math.max(0, od.maxEjectionPercent))),
    enforcing_success_rate: u32(sr ? ON : OFF),
    success_rate_minimum_hosts: optU32(sr?.minimumHosts),
    success_rate_request_volume: optU32(sr?.requestVolume),
    // Envoy and gRPC keep the factor in thousandths (1900 = 1.9).
    success_rate_stdev_factor: sr?.stdevFactor === undefined ? undefined : u32(Math.round(sr.stdevFactor * 1000)),
    enforcing_failure_percentage: u32(fp ? ON : OFF),
    failure_percentage_threshold: optU32(fp?.threshold),
    failure_percentage_minimum_hosts: optU32(fp?.minimumHosts),
    failure_percentage_request_volume: optU32(fp?.requestVolume),
  });
}

/** The consecutive-error detectors and local-origin splitting (Envoy and the Trellis sidecar only). */
function consecutiveFields(od: OutlierDetection): Record<string, unknown> {
  const split = od.splitExternalLocalOriginErrors === true;
  const local = split ? od.consecutiveLocalOriginFailures : undefined;
  return compact({
    consecutive_5xx: optU32(od.consecutive5xx),
    enforcing_consecutive_5xx: u32(od.consecutive5xx === undefined ? OFF : ON),
    consecutive_gateway_failure: optU32(od.consecutiveGatewayErrors),
    enforcing_consecutive_gateway_failure: u32(od.consecutiveGatewayErrors === undefined ? OFF : ON),
    split_external_local_origin_errors: split ? true : undefined,
    // With split on, Envoy runs local-origin variants of every detector (enforcing 100 by default): only the ones
    // matching what was configured stay on.
    consecutive_local_origin_failure: optU32(local),
    enforcing_consecutive_local_origin_failure: split ? u32(local === undefined ? OFF : ON) : undefined,
    enforcing_local_origin_success_rate: split ? u32(od.successRate ? ON : OFF) : undefined,
    enforcing_failure_percentage_local_origin: split ? u32(od.failurePercentage ? ON : OFF) : undefined,
  });
}

/**
 * outlier_detection for a client. Proxyless gRPC implements only success-rate and failure-percentage ejection: it
 * gets the field only when one of them is configured (an absent field is gRPC's no-op).
 */
export function outlierDetection(
  od: OutlierDetection | undefined,
  client: ClientKind,
): Record<string, unknown> | undefined {
  if (!od) return undefined;
  if (client === 'proxyless') {
    return od.successRate || od.failurePercentage ? statisticalFields(od) : undefined;
  }
  return { ...consecutiveFields(od), ...statisticalFields(od) };
}
