// Fault injection: Envoy's fault filter (envoy.filters.http.fault) in connection managers, and a rule's HTTPFault as
// the route's typed_per_filter_config (what sidecars and proxyless gRPC clients both apply at the calling side).
import { EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import type { FaultInjection, RouteResource } from '../resources/types.ts';
import { grpcCode } from '../resources/validate/fault.ts';
import { durationOf } from './proto-values.ts';

export const FAULT_FILTER_NAME = 'envoy.filters.http.fault';
export const FAULT_TYPE_URL = typeUrl(EXTENSION_TYPES.fault);

/** Whether any Route rule injects faults: only then do connection managers carry the fault filter. */
export function meshUsesFaults(routes: readonly RouteResource[]): boolean {
  // Redirect and direct response rules count: proxyless clients get them as aborts (routes.ts).
  return routes.some((r) =>
    r.spec.http.some(
      (rule) => rule.fault !== undefined || rule.redirect !== undefined || rule.directResponse !== undefined,
    ),
  );
}

/** The HTTP filter placed before the router; its own config injects nothing (routes carry the faults). */
export function faultHttpFilter(): Record<string, unknown> {
  return { name: FAULT_FILTER_NAME, typed_config: { '@type': FAULT_TYPE_URL } };
}

/** A percent (0-100, default 100) as a FractionalPercent per million (four decimals kept). */
function share(percent: number | undefined): Record<string, unknown> {
  return { numerator: Math.round((percent ?? 100) * 10_000), denominator: 'MILLION' };
}

/** A rule's fault as Route fields (typed_per_filter_config), or none. */
export function faultFields(fault: FaultInjection | undefined): Record<string, unknown> {
  if (fault === undefined) return {};
  const config: Record<string, unknown> = { '@type': FAULT_TYPE_URL };
  if (fault.delay !== undefined) {
    config['delay'] = { fixed_delay: durationOf(fault.delay.fixedDelay), percentage: share(fault.delay.percent) };
  }
  const abort = fault.abort;
  if (abort !== undefined) {
    const status =
      abort.httpStatus !== undefined ? { http_status: abort.httpStatus } : { grpc_status: grpcCode(abort.grpcStatus) };
    config['abort'] = { ...status, percentage: share(abort.percent) };
  }
  return { typed_per_filter_config: { [FAULT_FILTER_NAME]: config } };
}
