// RouteAction.retry_policy from a rule's retries: conditions, attempts, per-try timeout, statuses and back-off.

import type { ClientKind } from '@trellis/node-contract';
import type { RetryPolicy } from '../resources/types.ts';
import { durationOf, u32 } from './proto-values.ts';

/** Envoy's HTTP retry_on conditions. */
const HTTP_RETRY_ON: ReadonlySet<string> = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
]);

/** Envoy's gRPC retry_on conditions, the only ones gRPC proxyless clients act on; numeric gRPC codes map too. */
const GRPC_RETRY_ON: Readonly<Record<string, string>> = {
  cancelled: 'cancelled',
  'deadline-exceeded': 'deadline-exceeded',
  internal: 'internal',
  'resource-exhausted': 'resource-exhausted',
  unavailable: 'unavailable',
  '1': 'cancelled',
  '4': 'deadline-exceeded',
  '8': 'resource-exhausted',
  '13': 'internal',
  '14': 'unavailable',
};

const STATUS_CODES_CONDITION = 'retriable-status-codes';

/** retry_on when a rule asks for retries without naming conditions (Istio's defaults, as Envoy names). */
export const DEFAULT_RETRY_ON: readonly string[] = [
  'connect-failure',
  'refused-stream',
  'unavailable',
  'cancelled',
  'gateway-error',
];

/** The Envoy retry_on name for an operator condition ('5xx', 'UNAVAILABLE', 'deadline_exceeded', '14'), if any. */
export function retryOnName(condition: string): string | undefined {
  const n = condition.trim().toLowerCase().replace(/_/g, '-');
  if (HTTP_RETRY_ON.has(n)) return n;
  return GRPC_RETRY_ON[n];
}

/**
 * The retry_policy of a rule, or undefined for no retries. `retriableStatusCodes` adds the retriable-status-codes
 * condition (to the defaults when no condition is named); proxyless gRPC clients do not get the HTTP status list.
 */
export function retryPolicy(
  retries: RetryPolicy | undefined,
  client: ClientKind,
  warn: (m: string) => void,
): Record<string, unknown> | undefined {
  // gRPC NACKs num_retries < 1, and Envoy's default without a policy is already "no retries".
  if (!retries || !(retries.attempts >= 1)) return undefined;
  const names: string[] = [];
  for (const c of retries.retryOn ?? []) {
    const n = retryOnName(c);
    if (n === undefined) warn(`retries.retryOn: unknown condition '${c}' ignored`);
    else if (!names.includes(n)) names.push(n);
  }
  const retryOn = names.length > 0 ? names : [...DEFAULT_RETRY_ON];
  const codes = retries.retriableStatusCodes ?? [];
  if (codes.length > 0 && !retryOn.includes(STATUS_CODES_CONDITION)) retryOn.push(STATUS_CODES_CONDITION);
  const policy: Record<string, unknown> = {
    retry_on: retryOn.join(','),
    num_retries: u32(Math.floor(retries.attempts)),
  };
  const perTry = durationOf(retries.perTryTimeout);
  if (perTry) policy['per_try_timeout'] = perTry;
  if (codes.length > 0 && client !== 'proxyless') policy['retriable_status_codes'] = [...codes];
  const backOff = retryBackOff(retries, client, warn);
  if (backOff) policy['retry_back_off'] = backOff;
  return policy;
}

/**
 * retry_back_off. grpc-js-xds 1.14 turns a Duration into text by adding nanos to the seconds *string*, so 1s reads
 * as "10s" and 2.5s as "20.5s"; sub-second values ("0" + 0.1 = "00.1s") come out right. Proxyless clients get only
 * sub-second intervals: a longer maxInterval is left out (gRPC then uses 10 × baseInterval), a longer baseInterval
 * drops the back-off (gRPC's defaults: 25ms, 250ms).
 */
function retryBackOff(
  retries: RetryPolicy,
  client: ClientKind,
  warn: (m: string) => void,
): Record<string, unknown> | undefined {
  const base = durationOf(retries.backoff?.baseInterval);
  if (!base) return undefined;
  let max = durationOf(retries.backoff?.maxInterval);
  if (client === 'proxyless') {
    if (base.seconds >= 1) {
      warn('retries.backoff: gRPC clients misread intervals of 1s or more (1s as 10s); back-off left out for them');
      return undefined;
    }
    if (max && max.seconds >= 1) {
      warn('retries.backoff.maxInterval: gRPC clients misread intervals of 1s or more (1s as 10s); left out for them');
      max = undefined;
    }
  }
  return max ? { base_interval: base, max_interval: max } : { base_interval: base };
}
