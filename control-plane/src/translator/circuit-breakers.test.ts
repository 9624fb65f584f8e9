// circuit_breakers (limits, retry budget) and upstream HTTP protocol options (HTTP/2, idle timeout) per client.

import type { ClientKind } from '@trellis/node-contract';
import { expect } from 'chai';
import type { ConnectionPool, ServicePort } from '../resources/types.ts';
import { encodedCluster, GRPC_PORT, HTTP_PORT, TCP_PORT } from './fixtures.ts';
import { HTTP_PROTOCOL_OPTIONS, HTTP_PROTOCOL_OPTIONS_ENCODABLE } from './protocol-options.ts';

const field = (connectionPool: ConnectionPool, client: ClientKind, name: string, port: ServicePort = HTTP_PORT) =>
  encodedCluster({ connectionPool }, client, port)[name];

describe('connection pool', () => {
  it('adds a retry budget to the DEFAULT thresholds', () => {
    expect(
      field({ maxRequests: 30, retryBudget: { percent: 25.5, minRetryConcurrency: 2 } }, 'sidecar', 'circuit_breakers'),
    ).to.deep.equal({
      thresholds: [
        {
          priority: 'DEFAULT',
          max_requests: { value: 30 },
          retry_budget: { budget_percent: { value: 25.5 }, min_retry_concurrency: { value: 2 } },
        },
      ],
    });
    expect(field({ retryBudget: {} }, 'envoy', 'circuit_breakers')).to.deep.equal({
      thresholds: [{ priority: 'DEFAULT', retry_budget: {} }],
    });
  });

  it('gives proxyless clients max_requests only (all gRPC reads)', () => {
    const pool: ConnectionPool = { maxConnections: 1, maxRequests: 9, maxRetries: 2, retryBudget: { percent: 5 } };
    expect(field(pool, 'proxyless', 'circuit_breakers')).to.deep.equal({
      thresholds: [{ priority: 'DEFAULT', max_requests: { value: 9 } }],
    });
    expect(field({ maxConnections: 1 }, 'proxyless', 'circuit_breakers')).to.equal(undefined);
  });

  describe('idleTimeout', () => {
    if (!HTTP_PROTOCOL_OPTIONS_ENCODABLE) return;
    const options = (client: ClientKind, port: ServicePort, idleTimeout = '90s') =>
      field({ idleTimeout }, client, 'typed_extension_protocol_options', port);
    const typeUrl = `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`;

    it('sets common_http_protocol_options.idle_timeout, saying HTTP/1.1 explicitly on HTTP ports', () => {
      expect(options('sidecar', HTTP_PORT)).to.deep.equal({
        [HTTP_PROTOCOL_OPTIONS]: {
          '@type': typeUrl,
          common_http_protocol_options: { idle_timeout: { seconds: 90, nanos: 0 } },
          explicit_http_config: { http_protocol_options: {} },
        },
      });
    });

    it('keeps HTTP/2 on GRPC ports; 0s (never) is sent as is', () => {
      expect(options('envoy', GRPC_PORT, '0s')).to.deep.equal({
        [HTTP_PROTOCOL_OPTIONS]: {
          '@type': typeUrl,
          common_http_protocol_options: { idle_timeout: { seconds: 0, nanos: 0 } },
          explicit_http_config: { http2_protocol_options: {} },
        },
      });
    });

    it('leaves TCP ports and proxyless clients alone', () => {
      expect(options('sidecar', TCP_PORT)).to.equal(undefined);
      expect(options('proxyless', HTTP_PORT)).to.equal(undefined);
      expect(options('proxyless', GRPC_PORT)).to.equal(undefined);
    });
  });
});
