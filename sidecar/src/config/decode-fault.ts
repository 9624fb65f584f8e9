// Decodes envoy.filters.http.fault's HTTPFault (filter config and per-route override) into the model.
import { headerMatcher } from './decode-matchers.ts';
import { at, durationMs, fail, num, type Obj, objList, optObj, wrappedNum } from './decode-values.ts';
import type { FaultConfig, Fraction } from './model.ts';

/** The longest delay a timer can hold (2³¹−1 ms, about 24.8 days). */
export const MAX_DELAY_MS = 2_147_483_647;

const DENOMINATORS: Readonly<Record<string, number>> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 };

/** envoy.type.v3.FractionalPercent; unset is 0 % (the proto default, as Envoy reads it). */
export function fraction(v: unknown, path: string): Fraction {
  const o = optObj(v, path);
  if (o === undefined) return { numerator: 0, denominator: 100 };
  const numerator = num(o['numerator'], at(path, 'numerator'), 0);
  const name = o['denominator'] === undefined ? 'HUNDRED' : String(o['denominator']);
  const denominator = DENOMINATORS[name];
  if (denominator === undefined)
    fail(at(path, 'denominator'), `expected HUNDRED, TEN_THOUSAND or MILLION, got ${name}`);
  if (!Number.isInteger(numerator) || numerator < 0) fail(at(path, 'numerator'), 'expected an integer ≥ 0');
  // Envoy caps a numerator above its denominator at 100 %.
  return { numerator: Math.min(numerator, denominator), denominator };
}

/** Fields of HTTPFault the sidecar does not implement: refused, never silently ignored. */
const UNSUPPORTED: readonly string[] = [
  'upstream_cluster',
  'downstream_nodes',
  'response_rate_limit',
  'delay_percent_runtime',
  'abort_percent_runtime',
  'delay_duration_runtime',
  'abort_http_status_runtime',
  'max_active_faults_runtime',
  'response_rate_limit_percent_runtime',
  'abort_grpc_status_runtime',
];

export function faultConfig(o: Obj, path: string): FaultConfig {
  for (const field of UNSUPPORTED) {
    const v = o[field];
    if (v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0))
      fail(at(path, field), 'is not supported by the sidecar');
  }
  const out: FaultConfig = {
    headers: objList(o['headers'], at(path, 'headers')).map((h, i) => headerMatcher(h, at(at(path, 'headers'), i))),
    maxActiveFaults: undefined,
  };
  if (o['max_active_faults'] !== undefined) {
    out.maxActiveFaults = wrappedNum(o['max_active_faults'], at(path, 'max_active_faults'), 0);
  }
  const delay = optObj(o['delay'], at(path, 'delay'));
  if (delay !== undefined) {
    const dpath = at(path, 'delay');
    const fixed = delay['fixed_delay'];
    const header = delay['header_delay'] !== undefined;
    if (fixed === undefined && !header) fail(dpath, 'needs fixed_delay or header_delay');
    const fixedDelayMs = fixed === undefined ? undefined : durationMs(fixed, at(dpath, 'fixed_delay'), 0);
    if (fixedDelayMs !== undefined && (fixedDelayMs <= 0 || fixedDelayMs > MAX_DELAY_MS))
      fail(at(dpath, 'fixed_delay'), `expected more than 0 and at most ${MAX_DELAY_MS} ms, got ${fixedDelayMs} ms`);
    out.delay = {
      fixedDelayMs,
      percentage: fraction(delay['percentage'], at(dpath, 'percentage')),
    };
  }
  const abort = optObj(o['abort'], at(path, 'abort'));
  if (abort !== undefined) {
    const apath = at(path, 'abort');
    const percentage = fraction(abort['percentage'], at(apath, 'percentage'));
    if (abort['http_status'] !== undefined) {
      const status = num(abort['http_status'], at(apath, 'http_status'), 0);
      if (!Number.isInteger(status) || status < 200 || status > 599)
        fail(at(apath, 'http_status'), `expected an HTTP status 200-599, got ${status}`);
      out.abort = { httpStatus: status, percentage };
    } else if (abort['grpc_status'] !== undefined) {
      const code = num(abort['grpc_status'], at(apath, 'grpc_status'), 0);
      if (!Number.isInteger(code) || code < 0 || code > 16)
        fail(at(apath, 'grpc_status'), `expected a gRPC status code 0-16, got ${code}`);
      out.abort = { grpcStatus: code, percentage };
    } else if (abort['header_abort'] !== undefined) {
      out.abort = { percentage };
    } else fail(apath, 'needs http_status, grpc_status or header_abort');
  }
  if (o['filter_metadata'] !== undefined && o['filter_metadata'] !== null)
    fail(at(path, 'filter_metadata'), 'is not supported by the sidecar');
  return out;
}
