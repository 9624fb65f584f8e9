// What one failed or finished upstream attempt means: the client's reply when no attempt answered, whether a retry
// may follow, and what outlier detection hears (the TCP proxy reports the same local-origin results).
import type { OutlierResult } from '../../upstream/outlier/outlier-detector.ts';
import { GrpcStatus } from '../message/grpc.ts';
import { type LocalReply, ResponseFlag } from '../message/reply.ts';
import type { AttemptError } from '../pool/upstream-attempt.ts';
import type { AttemptFailure } from '../routing/retry-policy.ts';

/** What the client gets when no attempt produced a response. */
export const FAILURE_REPLIES: Readonly<Record<AttemptError, LocalReply>> = {
  'connect-failure': { status: 503, body: 'upstream connect error', flags: ResponseFlag.UpstreamConnectionFailure },
  reset: { status: 503, body: 'upstream reset before response', flags: ResponseFlag.UpstreamReset },
  'refused-stream': { status: 503, body: 'upstream refused the stream', flags: ResponseFlag.UpstreamReset },
  protocol: { status: 502, body: 'upstream protocol error', flags: ResponseFlag.UpstreamProtocolError },
  overflow: { status: 503, body: 'upstream overloaded', flags: ResponseFlag.UpstreamOverflow, overloaded: true },
  timeout: { status: 504, body: 'upstream request timeout', flags: ResponseFlag.UpstreamRequestTimeout },
};

/** Whether a retry policy may try again after this error (never after a protocol error or a breaker overflow). */
export function isRetriable(error: AttemptError): error is AttemptFailure {
  return error !== 'protocol' && error !== 'overflow';
}

/** What outlier detection hears about a failed attempt (nothing for protocol errors and breaker overflow). */
export const OUTLIER_FAILURES: Readonly<Record<AttemptError, OutlierResult | undefined>> = {
  'connect-failure': { localOrigin: 'connect-failure' },
  timeout: { localOrigin: 'timeout' },
  reset: { localOrigin: 'reset' },
  'refused-stream': { localOrigin: 'reset' },
  protocol: undefined,
  overflow: undefined,
};

/** A gRPC status as the HTTP status outlier detection counts: OK 200, UNAVAILABLE 503, DEADLINE_EXCEEDED 504, else 500. */
export function grpcOutlierStatus(grpcStatus: number | undefined): number {
  if (grpcStatus === GrpcStatus.OK) return 200;
  if (grpcStatus === GrpcStatus.UNAVAILABLE) return 503;
  if (grpcStatus === GrpcStatus.DEADLINE_EXCEEDED) return 504;
  return 500;
}
