// health_checks: defaults, probe per port protocol, expected status ranges, and none for proxyless clients.

import type { ClientKind } from '@trellis/node-contract';
import { expect } from 'chai';
import type { HealthCheck, ServicePort } from '../resources/types.ts';
import { encodedCluster, GRPC_PORT, HTTP_PORT, HTTP2_PORT, TCP_PORT } from './fixtures.ts';
import { HTTP_PROTOCOL_OPTIONS_ENCODABLE } from './protocol-options.ts';

function checks(healthCheck: HealthCheck, client: ClientKind, port: ServicePort = HTTP_PORT) {
  const warnings: string[] = [];
  const c = encodedCluster({ healthCheck }, client, port, (m) => warnings.push(m));
  return { checks: c['health_checks'] as Record<string, unknown>[] | undefined, warnings };
}

const DEFAULT_TIMING = {
  timeout: { seconds: 1, nanos: 0 },
  interval: { seconds: 10, nanos: 0 },
  healthy_threshold: { value: 2 },
  unhealthy_threshold: { value: 3 },
};

describe('health checks', () => {
  it('defaults the timing Envoy requires and the Host to the service name', () => {
    expect(checks({ http: { path: '/healthz' } }, 'sidecar').checks).to.deep.equal([
      { ...DEFAULT_TIMING, http_health_check: { host: 'orders', path: '/healthz' } },
    ]);
  });

  it('maps timing, thresholds, jitter, host and expected statuses (inclusive ranges become half-open)', () => {
    const hc: HealthCheck = {
      http: { path: '/ready', host: 'orders.internal', expectedStatuses: [204, '200-299', '500-500'] },
      interval: '2s',
      timeout: '250ms',
      healthyThreshold: 1,
      unhealthyThreshold: 5,
      jitter: '100ms',
    };
    expect(checks(hc, 'envoy').checks).to.deep.equal([
      {
        timeout: { seconds: 0, nanos: 250_000_000 },
        interval: { seconds: 2, nanos: 0 },
        interval_jitter: { seconds: 0, nanos: 100_000_000 },
        healthy_threshold: { value: 1 },
        unhealthy_threshold: { value: 5 },
        http_health_check: {
          host: 'orders.internal',
          path: '/ready',
          expected_statuses: [
            { start: 204, end: 205 },
            { start: 200, end: 300 },
            { start: 500, end: 501 },
          ],
        },
      },
    ]);
  });

  it('probes HTTP2/GRPC ports over HTTP/2 and leaves TCP ports out of HTTP probes', () => {
    const http = { http: { path: '/h' } };
    expect(checks(http, 'sidecar', HTTP2_PORT).checks?.[0]?.['http_health_check']).to.deep.equal({
      host: 'orders',
      path: '/h',
      codec_client_type: 'HTTP2',
    });
    expect(checks(http, 'sidecar', TCP_PORT)).to.deep.equal({
      checks: undefined,
      warnings: ['TrafficPolicy of service orders: healthCheck.http: not sent for cluster orders|5432 (TCP port)'],
    });
  });

  it('runs gRPC probes only on HTTP/2 clusters, with the service as :authority', () => {
    const grpc: HealthCheck = { grpc: { serviceName: 'orders.v1.Orders' } };
    if (HTTP_PROTOCOL_OPTIONS_ENCODABLE) {
      expect(checks(grpc, 'envoy', GRPC_PORT).checks?.[0]?.['grpc_health_check']).to.deep.equal({
        service_name: 'orders.v1.Orders',
        authority: 'orders',
      });
    }
    expect(checks({ grpc: {} }, 'envoy', HTTP_PORT).warnings).to.deep.equal([
      'TrafficPolicy of service orders: healthCheck.grpc: not sent for cluster orders|8080 (HTTP port; gRPC probes need an HTTP2 or GRPC port)',
    ]);
  });

  it('connects only for tcp probes, on any port', () => {
    for (const port of [TCP_PORT, HTTP_PORT, GRPC_PORT]) {
      expect(checks({ tcp: {} }, 'sidecar', port).checks).to.deep.equal([{ ...DEFAULT_TIMING, tcp_health_check: {} }]);
    }
  });

  it('sends proxyless clients no health checks (gRPC does not probe)', () => {
    expect(checks({ http: { path: '/healthz' } }, 'proxyless')).to.deep.equal({ checks: undefined, warnings: [] });
  });
});
