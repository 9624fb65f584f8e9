// A route's RetryPolicy compiled to bit flags, the retry decision for one attempt outcome, and jittered backoff.
import type { RetryPolicy } from '../config/model.ts';
import { GrpcStatus } from './grpc.ts';
import { randomBelow } from './random.ts';

const ON_5XX = 1 << 0;
const ON_GATEWAY_ERROR = 1 << 1;
const ON_CONNECT_FAILURE = 1 << 2;
const ON_RESET = 1 << 3;
const ON_REFUSED_STREAM = 1 << 4;
const ON_RETRIABLE_STATUS = 1 << 5;
const ON_GRPC_CANCELLED = 1 << 6;
const ON_GRPC_DEADLINE = 1 << 7;
const ON_GRPC_INTERNAL = 1 << 8;
const ON_GRPC_EXHAUSTED = 1 << 9;
const ON_GRPC_UNAVAILABLE = 1 << 10;

const FLAG_BY_NAME: Readonly<Record<string, number>> = {
  '5xx': ON_5XX,
  'gateway-error': ON_GATEWAY_ERROR,
  'connect-failure': ON_CONNECT_FAILURE,
  reset: ON_RESET,
  'refused-stream': ON_REFUSED_STREAM,
  'retriable-status-codes': ON_RETRIABLE_STATUS,
  cancelled: ON_GRPC_CANCELLED,
  'deadline-exceeded': ON_GRPC_DEADLINE,
  internal: ON_GRPC_INTERNAL,
  'resource-exhausted': ON_GRPC_EXHAUSTED,
  unavailable: ON_GRPC_UNAVAILABLE,
};

const GRPC_FLAGS = ON_GRPC_CANCELLED | ON_GRPC_DEADLINE | ON_GRPC_INTERNAL | ON_GRPC_EXHAUSTED | ON_GRPC_UNAVAILABLE;

/** Why an attempt produced no usable response. */
export type AttemptFailure = 'connect-failure' | 'reset' | 'refused-stream' | 'timeout';

export interface CompiledRetryPolicy {
  readonly flags: number;
  readonly numRetries: number;
  readonly perTryTimeoutMs: number;
  readonly retriableStatusCodes: ReadonlySet<number>;
  /** retry_back_off.base_interval (default 25ms). */
  readonly backOffBaseMs: number;
  /** retry_back_off.max_interval (default 10 × base). */
  readonly backOffMaxMs: number;
}

export const BACKOFF_BASE_MS = 25;

export function compileRetryPolicy(p: RetryPolicy): CompiledRetryPolicy {
  let flags = 0;
  for (const name of p.retryOn) flags |= FLAG_BY_NAME[name.trim().toLowerCase()] ?? 0;
  return {
    flags,
    numRetries: p.numRetries,
    perTryTimeoutMs: p.perTryTimeoutMs,
    retriableStatusCodes: new Set(p.retriableStatusCodes),
    backOffBaseMs: p.backOff?.baseMs ?? BACKOFF_BASE_MS,
    backOffMaxMs: p.backOff?.maxMs ?? (p.backOff?.baseMs ?? BACKOFF_BASE_MS) * 10,
  };
}

/** Whether a response with this status (and grpc-status from a trailers-only response, if any) is retried. */
export function retriableResponse(p: CompiledRetryPolicy, status: number, grpcStatus: number | undefined): boolean {
  const f = p.flags;
  if (status >= 500) {
    if (f & ON_5XX) return true;
    if (f & ON_GATEWAY_ERROR && (status === 502 || status === 503 || status === 504)) return true;
  }
  if (f & ON_RETRIABLE_STATUS && p.retriableStatusCodes.has(status)) return true;
  if (grpcStatus !== undefined && f & GRPC_FLAGS) {
    switch (grpcStatus) {
      case GrpcStatus.CANCELLED:
        return (f & ON_GRPC_CANCELLED) !== 0;
      case GrpcStatus.DEADLINE_EXCEEDED:
        return (f & ON_GRPC_DEADLINE) !== 0;
      case GrpcStatus.INTERNAL:
        return (f & ON_GRPC_INTERNAL) !== 0;
      case GrpcStatus.RESOURCE_EXHAUSTED:
        return (f & ON_GRPC_EXHAUSTED) !== 0;
      case GrpcStatus.UNAVAILABLE:
        return (f & ON_GRPC_UNAVAILABLE) !== 0;
    }
  }
  return false;
}

/** Envoy: 5xx and gateway-error cover every failure to get a response; reset covers connect failures and timeouts. */
export function retriableFailure(p: CompiledRetryPolicy, failure: AttemptFailure): boolean {
  const f = p.flags;
  if (f & (ON_5XX | ON_GATEWAY_ERROR | ON_RESET)) return true;
  if (failure === 'connect-failure') return (f & ON_CONNECT_FAILURE) !== 0;
  if (failure === 'refused-stream') return (f & ON_REFUSED_STREAM) !== 0;
  return false;
}

/**
 * Fully jittered exponential backoff for retry n (1-based), as Envoy's retry_back_off: uniform in
 * [0, (2^n − 1)·base), capped at max (defaults 25ms and 250ms).
 */
export function retryBackoffMs(n: number, baseMs = BACKOFF_BASE_MS, maxMs = baseMs * 10): number {
  const ceiling = Math.min(((1 << Math.min(n, 16)) - 1) * baseMs, maxMs);
  return randomBelow(Math.max(1, Math.round(ceiling)));
}
