// Attempt outcomes: each upstream error's reply to the client, whether it may be retried, and what outlier detection
// hears; gRPC statuses as the HTTP statuses outlier detection counts.
import { expect } from 'chai';
import { GrpcStatus } from '../message/grpc.ts';
import { ResponseFlag } from '../message/reply.ts';
import type { AttemptError } from '../pool/upstream-attempt.ts';
import { FAILURE_REPLIES, grpcOutlierStatus, isRetriable, OUTLIER_FAILURES } from './attempt-outcome.ts';

describe('attempt outcomes', () => {
  const table: [AttemptError, number, string, boolean, string | undefined][] = [
    ['connect-failure', 503, ResponseFlag.UpstreamConnectionFailure, true, 'connect-failure'],
    ['reset', 503, ResponseFlag.UpstreamReset, true, 'reset'],
    ['refused-stream', 503, ResponseFlag.UpstreamReset, true, 'reset'],
    ['timeout', 504, ResponseFlag.UpstreamRequestTimeout, true, 'timeout'],
    ['protocol', 502, ResponseFlag.UpstreamProtocolError, false, undefined],
    ['overflow', 503, ResponseFlag.UpstreamOverflow, false, undefined],
  ];
  for (const [error, status, flag, retriable, outlier] of table) {
    it(`${error}: ${status} ${flag}, ${retriable ? 'retriable' : 'never retried'}, outlier detection hears ${outlier ?? 'nothing'}`, () => {
      expect(FAILURE_REPLIES[error].status).to.equal(status);
      expect(FAILURE_REPLIES[error].flags).to.equal(flag);
      expect(isRetriable(error)).to.equal(retriable);
      expect(OUTLIER_FAILURES[error]?.localOrigin).to.equal(outlier);
    });
  }

  it('only a breaker overflow is marked overloaded (x-trellis-overloaded)', () => {
    const overloaded = (Object.keys(FAILURE_REPLIES) as AttemptError[]).filter((e) => FAILURE_REPLIES[e].overloaded);
    expect(overloaded).to.deep.equal(['overflow']);
  });

  it('gRPC statuses count as OK 200, UNAVAILABLE 503, DEADLINE_EXCEEDED 504, anything else 500', () => {
    expect(grpcOutlierStatus(GrpcStatus.OK)).to.equal(200);
    expect(grpcOutlierStatus(GrpcStatus.UNAVAILABLE)).to.equal(503);
    expect(grpcOutlierStatus(GrpcStatus.DEADLINE_EXCEEDED)).to.equal(504);
    expect(grpcOutlierStatus(GrpcStatus.INTERNAL)).to.equal(500);
    expect(grpcOutlierStatus(undefined)).to.equal(500);
  });
});
