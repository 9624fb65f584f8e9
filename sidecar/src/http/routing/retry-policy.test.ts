// Retry decisions per retry_on name, gRPC statuses, and jittered backoff bounds; grpc-timeout parsing.
import { expect } from 'chai';
import { parseGrpcTimeout } from '../message/grpc.ts';
import {
  compileRetryPolicy,
  retriableFailure,
  retriableFailureFor,
  retriableResponse,
  retriableResponseFor,
  retryBackoffMs,
  retryClassOf,
} from './retry-policy.ts';

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

  it('classes requests: safe and idempotent methods, gRPC, everything else unsafe', () => {
    for (const m of ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])
      expect(retryClassOf(m, false)).to.equal('idempotent');
    for (const m of ['POST', 'PATCH', 'CONNECT', 'PROPFIND']) expect(retryClassOf(m, false)).to.equal('unsafe');
    expect(retryClassOf('POST', true)).to.equal('grpc');
  });

  it('unsafe methods retry only failures that never reached the app', () => {
    const p = policy('5xx', 'connect-failure', 'refused-stream', 'reset', 'retriable-status-codes');
    expect(retriableResponseFor(p, 'unsafe', 503, undefined)).to.equal(false); // POST 5xx: no retry
    expect(retriableResponseFor(p, 'unsafe', 409, undefined)).to.equal(false);
    expect(retriableFailureFor(p, 'unsafe', 'connect-failure')).to.equal(true); // POST connect failure: retried
    expect(retriableFailureFor(p, 'unsafe', 'refused-stream')).to.equal(true);
    expect(retriableFailureFor(p, 'unsafe', 'reset')).to.equal(false);
    expect(retriableFailureFor(p, 'unsafe', 'timeout')).to.equal(false);
    expect(retriableFailureFor(policy('reset'), 'unsafe', 'connect-failure')).to.equal(true); // reset covers it
    expect(retriableFailureFor(policy('unavailable'), 'unsafe', 'connect-failure')).to.equal(false); // not configured
  });

  it('safe and idempotent methods retry on every configured condition', () => {
    expect(retriableResponseFor(policy('5xx'), 'idempotent', 503, undefined)).to.equal(true); // GET 5xx: retried
    expect(retriableResponseFor(policy('retriable-status-codes'), 'idempotent', 409, undefined)).to.equal(true);
    expect(retriableFailureFor(policy('reset'), 'idempotent', 'reset')).to.equal(true);
    expect(retriableFailureFor(policy('5xx'), 'idempotent', 'timeout')).to.equal(true);
  });

  it('gRPC retries on its status conditions and undelivered failures', () => {
    const p = policy('unavailable', 'cancelled', 'connect-failure', '5xx');
    expect(retriableResponseFor(p, 'grpc', 200, 14)).to.equal(true); // UNAVAILABLE: retried
    expect(retriableResponseFor(p, 'grpc', 200, 1)).to.equal(true);
    expect(retriableResponseFor(p, 'grpc', 200, 13)).to.equal(false); // INTERNAL not configured
    expect(retriableResponseFor(p, 'grpc', 503, undefined)).to.equal(true); // HTTP 503 → UNAVAILABLE
    expect(retriableResponseFor(p, 'grpc', 500, undefined)).to.equal(false); // 5xx alone is not a gRPC condition
    expect(retriableFailureFor(p, 'grpc', 'connect-failure')).to.equal(true);
    expect(retriableFailureFor(p, 'grpc', 'reset')).to.equal(false);
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
