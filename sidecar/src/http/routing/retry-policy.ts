// A route's RetryPolicy compiled to bit flags, the retry decision for one attempt outcome, and jittered backoff.
import type { RetryPolicy } from '../../config/model.ts';
import { GrpcStatus, grpcStatusForHttp } from '../message/grpc.ts';
import { randomBelow } from '../message/random.ts';

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
  return grpcStatus !== undefined && retriableGrpcStatus(f, grpcStatus);
}

function retriableGrpcStatus(f: number, grpcStatus: number): boolean {
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
    default:
      return false;
  }
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
 * Which outcomes may retry a request, by what a repeat could do to the upstream app:
 * - 'idempotent' (GET, HEAD, OPTIONS, TRACE, PUT, DELETE): every configured retry_on condition;
 * - 'grpc' (content-type application/grpc*): the configured gRPC status conditions (a non-200 answer without
 *   grpc-status counts as its HTTP-to-gRPC mapping, 503 → UNAVAILABLE), and failures that never reached the app;
 * - 'unsafe' (POST, PATCH, any other method): only failures that never reached the app (connect-failure,
 *   refused-stream), when configured.
 */
export type RetryClass = 'idempotent' | 'grpc' | 'unsafe';

const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export function retryClassOf(method: string, grpc: boolean): RetryClass {
  if (grpc) return 'grpc';
  return IDEMPOTENT_METHODS.has(method) ? 'idempotent' : 'unsafe';
}

/** retriableResponse restricted by the request's RetryClass. */
export function retriableResponseFor(
  p: CompiledRetryPolicy,
  cls: RetryClass,
  status: number,
  grpcStatus: number | undefined,
): boolean {
  if (cls === 'idempotent') return retriableResponse(p, status, grpcStatus);
  if (cls === 'unsafe') return false;
  const g = grpcStatus ?? (status === 200 ? undefined : grpcStatusForHttp(status));
  return g !== undefined && retriableGrpcStatus(p.flags, g);
}

/** retriableFailure restricted by the request's RetryClass (only never-delivered failures unless idempotent). */
export function retriableFailureFor(p: CompiledRetryPolicy, cls: RetryClass, failure: AttemptFailure): boolean {
  if (cls !== 'idempotent' && failure !== 'connect-failure' && failure !== 'refused-stream') return false;
  return retriableFailure(p, failure);
}

/**
 * Fully jittered exponential backoff for retry n (1-based), as Envoy's retry_back_off: uniform in
 * [0, (2^n − 1)·base), capped at max (defaults 25ms and 250ms).
 */
export function retryBackoffMs(n: number, baseMs = BACKOFF_BASE_MS, maxMs = baseMs * 10): number {
  const ceiling = Math.min(((1 << Math.min(n, 16)) - 1) * baseMs, maxMs);
  return randomBelow(Math.max(1, Math.round(ceiling)));
}
