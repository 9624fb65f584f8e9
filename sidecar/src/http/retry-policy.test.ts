// Retry decisions per retry_on name, gRPC statuses, and jittered backoff bounds; grpc-timeout parsing.
import { expect } from 'chai';
import { parseGrpcTimeout } from './grpc.ts';
import { compileRetryPolicy, retriableFailure, retriableResponse, retryBackoffMs } from './retry-policy.ts';

const policy = (...retryOn: string[]) =>
  compileRetryPolicy({ retryOn, numRetries: 2, perTryTimeoutMs: 0, retriableStatusCodes: [409] });

describe('retry policy', () => {
  it('5xx retries every 5xx and every failure; gateway-error only 502/503/504', () => {
    expect(retriableResponse(policy('5xx'), 500, undefined)).to.equal(true);
    expect(retriableResponse(policy('gateway-error'), 500, undefined)).to.equal(false);
    expect(retriableResponse(policy('gateway-error'), 503, undefined)).to.equal(true);
    expect(retriableFailure(policy('5xx'), 'timeout')).to.equal(true);
    expect(retriableFailure(policy('gateway-error'), 'connect-failure')).to.equal(true);
  });

  it('connect-failure, reset, refused-stream are separate triggers', () => {
    expect(retriableFailure(policy('connect-failure'), 'connect-failure')).to.equal(true);
    expect(retriableFailure(policy('connect-failure'), 'reset')).to.equal(false);
    expect(retriableFailure(policy('reset'), 'reset')).to.equal(true);
    expect(retriableFailure(policy('refused-stream'), 'refused-stream')).to.equal(true);
    expect(retriableFailure(policy('refused-stream'), 'reset')).to.equal(false);
    expect(retriableResponse(policy('connect-failure'), 503, undefined)).to.equal(false);
  });

  it('retriable-status-codes', () => {
    expect(retriableResponse(policy('retriable-status-codes'), 409, undefined)).to.equal(true);
    expect(retriableResponse(policy('retriable-status-codes'), 410, undefined)).to.equal(false);
  });

  it('gRPC names by grpc-status', () => {
    const p = policy('unavailable', 'cancelled');
    expect(retriableResponse(p, 200, 14)).to.equal(true);
    expect(retriableResponse(p, 200, 1)).to.equal(true);
    expect(retriableResponse(p, 200, 4)).to.equal(false);
    expect(retriableResponse(policy('deadline-exceeded', 'internal', 'resource-exhausted'), 200, 8)).to.equal(true);
  });

  it('backoff is jittered under (2^n - 1) * 25ms, capped at 250ms', () => {
    for (let i = 0; i < 200; i++) {
      expect(retryBackoffMs(1)).to.be.within(0, 24);
      expect(retryBackoffMs(2)).to.be.within(0, 74);
      expect(retryBackoffMs(10)).to.be.within(0, 249);
    }
  });

  it('parses grpc-timeout', () => {
    expect(parseGrpcTimeout('100m')).to.equal(100);
    expect(parseGrpcTimeout('2S')).to.equal(2000);
    expect(parseGrpcTimeout('1M')).to.equal(60_000);
    expect(parseGrpcTimeout('500u')).to.equal(1);
    expect(parseGrpcTimeout('10x')).to.equal(undefined);
    expect(parseGrpcTimeout('123456789S')).to.equal(undefined);
    expect(parseGrpcTimeout(undefined)).to.equal(undefined);
  });
});
