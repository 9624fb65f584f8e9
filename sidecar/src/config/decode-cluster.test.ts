// Cluster decoding: discovery, LB policies (enum, typed, Trellis metadata), protocol, breakers, outlier detection.
import { expect } from 'chai';
import { decodeCluster } from './decode-cluster.ts';
import { edsCluster, wire } from './envoy-fixtures.ts';
import type { ClusterConfig } from './model.ts';

type Obj = Record<string, unknown>;

function ok(object: Obj): ClusterConfig {
  const r = decodeCluster(wire('cluster', object), 'v3');
  if ('error' in r) throw new Error(r.error);
  return r.value;
}

function error(object: Obj): string {
  const r = decodeCluster(wire('cluster', object), 'v3');
  if (!('error' in r)) throw new Error('expected an error');
  return r.error;
}

const H2 = {
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    explicit_http_config: { http2_protocol_options: {} },
  },
};

/** Health check timing without a checker. */
const HC = {
  timeout: { seconds: 1 },
  interval: { seconds: 1 },
  healthy_threshold: { value: 1 },
  unhealthy_threshold: { value: 1 },
};

const trellis = (fields: Record<string, string>) => ({
  filter_metadata: {
    trellis: { fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { stringValue: v }])) },
  },
});

describe('decodeCluster', () => {
  it('decodes an EDS cluster with Envoy defaults', () => {
    const c = ok(edsCluster('orders|8080'));
    expect(c).to.deep.equal({
      name: 'orders|8080',
      discovery: 'eds',
      edsServiceName: 'orders|8080',
      staticEndpoints: [],
      lbPolicy: 'ROUND_ROBIN',
      lbConfig: {},
      connectTimeoutMs: 1000,
      protocol: 'http1',
      circuitBreakers: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 },
      metadata: {},
      version: 'v3',
    });
  });

  it("reads the HttpProtocolOptions idle timeout of pooled upstream connections (absent: the pools' default)", () => {
    const options = (idle: Obj) => ({
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        common_http_protocol_options: { idle_timeout: idle },
        explicit_http_config: { http_protocol_options: {} },
      },
    });
    expect(ok(edsCluster('a', { typed_extension_protocol_options: options({ seconds: 90 }) })).idleTimeoutMs).to.equal(
      90_000,
    );
    expect(ok(edsCluster('a', { typed_extension_protocol_options: options({}) })).idleTimeoutMs).to.equal(0);
    expect(ok(edsCluster('a')).idleTimeoutMs).to.equal(undefined);
  });

  it('decodes the STATIC inbound cluster with its inline endpoints and HTTP/2', () => {
    const c = ok({
      name: 'inbound|9090',
      type: 'STATIC',
      connect_timeout: { seconds: 5 },
      load_assignment: {
        cluster_name: 'inbound|9090',
        endpoints: [
          { lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9090 } } } }] },
        ],
      },
      typed_extension_protocol_options: H2,
      metadata: trellis({ service: 'orders', direction: 'inbound' }),
    });
    expect(c.discovery).to.equal('static');
    expect(c.protocol).to.equal('http2');
    expect(c.connectTimeoutMs).to.equal(5000);
    expect(c.metadata).to.deep.equal({ service: 'orders', direction: 'inbound' });
    expect(c.staticEndpoints).to.deep.equal([
      {
        zone: '',
        region: '',
        priority: 0,
        weight: 1,
        endpoints: [{ address: '127.0.0.1', port: 9090, weight: 1, health: 'unknown' }],
      },
    ]);
  });

  const policies: [string, Obj, string, Obj][] = [
    ['LEAST_REQUEST', { lb_policy: 'LEAST_REQUEST' }, 'LEAST_REQUEST', { choiceCount: 2 }],
    [
      'LEAST_REQUEST + choice_count',
      { lb_policy: 'LEAST_REQUEST', least_request_lb_config: { choice_count: { value: 3 } } },
      'LEAST_REQUEST',
      { choiceCount: 3 },
    ],
    ['RANDOM', { lb_policy: 'RANDOM' }, 'RANDOM', {}],
    ['MAGLEV', { lb_policy: 'MAGLEV' }, 'MAGLEV', { tableSize: 65537 }],
    [
      'RING_HASH with sizes',
      {
        lb_policy: 'RING_HASH',
        ring_hash_lb_config: { minimum_ring_size: { value: 2048 }, maximum_ring_size: { value: 4096 } },
      },
      'RING_HASH',
      { minimumRingSize: 2048, maximumRingSize: 4096, hashFunction: 'XX_HASH' },
    ],
    [
      'Trellis LEAST_CONNECTIONS',
      { lb_policy: 'LEAST_REQUEST', metadata: trellis({ lb_algorithm: 'LEAST_CONNECTIONS' }) },
      'LEAST_CONNECTIONS',
      {},
    ],
    [
      'Trellis LEAST_RESPONSE_TIME',
      { lb_policy: 'LEAST_REQUEST', metadata: trellis({ lb_algorithm: 'LEAST_RESPONSE_TIME' }) },
      'LEAST_RESPONSE_TIME',
      {},
    ],
    [
      'typed WrrLocality → RoundRobin',
      {
        load_balancing_policy: {
          policies: [
            {
              typed_extension_config: {
                name: 'wrr',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality',
                  endpoint_picking_policy: {
                    policies: [
                      {
                        typed_extension_config: {
                          name: 'rr',
                          typed_config: {
                            '@type':
                              'type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
                          },
                        },
                      },
                    ],
                  },
                },
              },
            },
          ],
        },
      },
      'ROUND_ROBIN',
      {},
    ],
  ];
  for (const [label, extra, policy, config] of policies) {
    it(`reads lb policy ${label}`, () => {
      const c = ok(edsCluster('c', extra));
      expect(c.lbPolicy).to.equal(policy);
      expect(c.lbConfig).to.deep.equal(config);
    });
  }

  it('reads circuit breakers and outlier detection (only enforcing detectors)', () => {
    const c = ok(
      edsCluster('c', {
        circuit_breakers: {
          thresholds: [
            { priority: 'HIGH', max_requests: { value: 1 } },
            { max_connections: { value: 100 }, max_requests: { value: 1000 } },
          ],
        },
        outlier_detection: {
          consecutive_5xx: { value: 5 },
          enforcing_consecutive_5xx: { value: 100 },
          enforcing_consecutive_gateway_failure: { value: 0 },
          enforcing_success_rate: { value: 0 },
          interval: { seconds: 5 },
          base_ejection_time: { seconds: 30 },
          max_ejection_percent: { value: 50 },
        },
      }),
    );
    expect(c.circuitBreakers).to.deep.equal({
      maxConnections: 100,
      maxPendingRequests: 1024,
      maxRequests: 1000,
      maxRetries: 3,
    });
    expect(c.outlierDetection).to.deep.equal({
      intervalMs: 5000,
      baseEjectionTimeMs: 30_000,
      maxEjectionPercent: 50,
      maxEjectionTimeMs: 300_000,
      maxEjectionTimeJitterMs: 0,
      splitExternalLocalOriginErrors: false,
      alwaysEjectOneHost: false,
      successfulActiveHealthCheckUnejectHost: true,
      enforcing: {
        consecutive5xx: 100,
        consecutiveGatewayFailure: 0,
        consecutiveLocalOriginFailure: 0,
        successRate: 0,
        localOriginSuccessRate: 0,
        failurePercentage: 0,
        failurePercentageLocalOrigin: 0,
      },
      consecutive5xx: 5,
    });
  });

  it('reads every outlier detector Envoy has, with its enforcing percentage', () => {
    const od = ok(
      edsCluster('c', {
        outlier_detection: {
          consecutive_5xx: { value: 3 },
          enforcing_consecutive_5xx: { value: 50 },
          consecutive_gateway_failure: { value: 2 },
          enforcing_consecutive_gateway_failure: { value: 100 },
          split_external_local_origin_errors: true,
          consecutive_local_origin_failure: { value: 4 },
          enforcing_local_origin_success_rate: { value: 0 },
          success_rate_minimum_hosts: { value: 3 },
          success_rate_request_volume: { value: 10 },
          success_rate_stdev_factor: { value: 1000 },
          failure_percentage_threshold: { value: 60 },
          enforcing_failure_percentage: { value: 100 },
          failure_percentage_minimum_hosts: { value: 2 },
          failure_percentage_request_volume: { value: 20 },
          base_ejection_time: { seconds: 400 },
          max_ejection_time_jitter: { nanos: 5_000_000 },
          always_eject_one_host: { value: true },
          successful_active_health_check_uneject_host: { value: false },
        },
      }),
    ).outlierDetection;
    expect(od).to.deep.equal({
      intervalMs: 10_000,
      baseEjectionTimeMs: 400_000,
      maxEjectionPercent: 10,
      // Envoy: max_ejection_time defaults to the larger of 300 s and base_ejection_time.
      maxEjectionTimeMs: 400_000,
      maxEjectionTimeJitterMs: 5,
      splitExternalLocalOriginErrors: true,
      alwaysEjectOneHost: true,
      successfulActiveHealthCheckUnejectHost: false,
      enforcing: {
        consecutive5xx: 50,
        consecutiveGatewayFailure: 100,
        consecutiveLocalOriginFailure: 100,
        successRate: 100,
        localOriginSuccessRate: 0,
        failurePercentage: 100,
        failurePercentageLocalOrigin: 0,
      },
      consecutive5xx: 3,
      consecutiveGatewayFailure: 2,
      consecutiveLocalOriginFailure: 4,
      successRate: { minimumHosts: 3, requestVolume: 10, stdevFactor: 1 },
      failurePercentage: { threshold: 60, minimumHosts: 2, requestVolume: 20 },
    });
  });

  it('reads the panic threshold from common_lb_config (absent = Envoy default)', () => {
    expect(ok(edsCluster('c')).healthyPanicThresholdPercent).to.equal(undefined);
    const c = ok(edsCluster('c', { common_lb_config: { healthy_panic_threshold: { value: 25.5 } } }));
    expect(c.healthyPanicThresholdPercent).to.equal(25.5);
    expect(
      ok(edsCluster('c', { common_lb_config: { healthy_panic_threshold: {} } })).healthyPanicThresholdPercent,
    ).to.equal(0);
  });

  it('reads HTTP, TCP and gRPC health checks with their timing', () => {
    const timing = {
      timeout: { seconds: 1 },
      interval: { seconds: 5 },
      healthy_threshold: { value: 2 },
      unhealthy_threshold: { value: 3 },
    };
    const checks = [
      {
        ...timing,
        interval_jitter: { nanos: 100_000_000 },
        interval_jitter_percent: 10,
        initial_jitter: { seconds: 2 },
        no_traffic_interval: { seconds: 30 },
        unhealthy_interval: { seconds: 10 },
        reuse_connection: { value: false },
        http_health_check: {
          path: '/healthz',
          host: 'orders.internal',
          method: 'HEAD',
          codec_client_type: 'HTTP2',
          expected_statuses: [
            { start: 200, end: 300 },
            { start: 404, end: 405 },
          ],
          retriable_statuses: [{ start: 503, end: 504 }],
          receive: [{ text: '6f6b' }],
          request_headers_to_add: [{ header: { key: 'X-HC', value: '1' } }],
          request_headers_to_remove: ['User-Agent'],
        },
      },
      { ...timing, tcp_health_check: { send: { text: '50494e47' }, receive: [{ binary: Buffer.from('PONG') }] } },
      { ...timing, tcp_health_check: {} },
      { ...timing, grpc_health_check: { service_name: 'orders.v1.Orders', authority: 'orders' } },
      { ...timing, http_health_check: { path: '/' } },
    ];
    const [http, tcp, connectOnly, grpc, plain] = checks.map(
      (hc) => ok(edsCluster('c', { health_checks: [hc] })).healthChecks?.[0],
    );
    expect(http).to.deep.equal({
      probe: {
        kind: 'http',
        path: '/healthz',
        host: 'orders.internal',
        method: 'HEAD',
        codec: 'http2',
        expectedStatuses: [
          { start: 200, end: 300 },
          { start: 404, end: 405 },
        ],
        retriableStatuses: [{ start: 503, end: 504 }],
        receive: [Uint8Array.from(Buffer.from('ok'))],
        responseBufferSize: 1024,
        requestHeaders: [{ name: 'x-hc', value: '1' }],
        requestHeadersToRemove: ['user-agent'],
      },
      timeoutMs: 1000,
      intervalMs: 5000,
      initialJitterMs: 2000,
      intervalJitterMs: 100,
      intervalJitterPercent: 10,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
      reuseConnection: false,
      noTrafficIntervalMs: 30_000,
      unhealthyIntervalMs: 10_000,
    });
    expect(tcp?.probe).to.deep.equal({
      kind: 'tcp',
      send: Uint8Array.from(Buffer.from('PING')),
      receive: [Uint8Array.from(Buffer.from('PONG'))],
    });
    expect(connectOnly?.probe).to.deep.equal({ kind: 'tcp', receive: [] });
    expect(grpc?.probe).to.deep.equal({
      kind: 'grpc',
      serviceName: 'orders.v1.Orders',
      authority: 'orders',
      initialMetadata: [],
    });
    // Envoy's HTTP defaults: GET, HTTP/1.1, 200 only.
    expect(plain?.probe).to.include({ method: 'GET', codec: 'http1' });
    expect(plain?.probe).to.have.deep.property('expectedStatuses', [{ start: 200, end: 201 }]);
    expect(ok(edsCluster('c')).healthChecks).to.equal(undefined);
  });

  const errors: [string, Obj, RegExp][] = [
    [
      'CLUSTER_PROVIDED',
      edsCluster('c', { lb_policy: 'CLUSTER_PROVIDED' }),
      /^cluster c: lb_policy: unsupported lb policy CLUSTER_PROVIDED$/,
    ],
    ['STRICT_DNS', { name: 'c', type: 'STRICT_DNS' }, /type: unsupported discovery type STRICT_DNS/],
    [
      'a transport socket of unknown kind',
      edsCluster('c', { transport_socket: { name: 'tls' } }),
      /transport_socket: unsupported transport socket tls/,
    ],
    [
      'an upstream TLS context with a certificate other than the workload one',
      edsCluster('c', {
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
            common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'other' }] },
          },
        },
      }),
      /transport_socket\.typed_config\.common_tls_context\.tls_certificate_sds_secret_configs: expected the one workload certificate secret "default"/,
    ],
    [
      'a ring above 8M',
      edsCluster('c', { lb_policy: 'RING_HASH', ring_hash_lb_config: { maximum_ring_size: { value: 9_000_000 } } }),
      /ring_hash_lb_config\.maximum_ring_size: at most/,
    ],
    [
      'a non-ADS EDS source',
      edsCluster('c', { eds_cluster_config: { eds_config: { path_config_source: { path: '/x' } } } }),
      /eds_cluster_config\.eds_config: only ADS/,
    ],
    [
      'a hostname static endpoint',
      {
        name: 'c',
        load_assignment: {
          cluster_name: 'c',
          endpoints: [
            { lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'db.local', port_value: 1 } } } }] },
          ],
        },
      },
      /load_assignment\.endpoints\[0\]\.lb_endpoints\[0\]\.endpoint\.address\.socket_address\.address: expected an IP/,
    ],
    [
      'max_ejection_percent above 100',
      edsCluster('c', { outlier_detection: { max_ejection_percent: { value: 101 } } }),
      /^cluster c: outlier_detection\.max_ejection_percent: expected an integer from 0 to 100, got 101$/,
    ],
    [
      'an enforcing percentage above 100',
      edsCluster('c', { outlier_detection: { enforcing_success_rate: { value: 150 } } }),
      /outlier_detection\.enforcing_success_rate: expected an integer from 0 to 100/,
    ],
    [
      'max_ejection_time below base_ejection_time',
      edsCluster('c', {
        outlier_detection: { base_ejection_time: { seconds: 30 }, max_ejection_time: { seconds: 10 } },
      }),
      /outlier_detection\.max_ejection_time: smaller than base_ejection_time/,
    ],
    [
      'a zero outlier interval',
      edsCluster('c', { outlier_detection: { interval: {} } }),
      /outlier_detection\.interval: must be above 0/,
    ],
    [
      'a panic threshold above 100',
      edsCluster('c', { common_lb_config: { healthy_panic_threshold: { value: 120 } } }),
      /common_lb_config\.healthy_panic_threshold\.value: expected a percentage/,
    ],
    [
      'two health checks',
      edsCluster('c', {
        health_checks: [
          { ...HC, tcp_health_check: {} },
          { ...HC, tcp_health_check: {} },
        ],
      }),
      /^cluster c: health_checks: multiple health checks are not supported/,
    ],
    [
      'a health check without a timeout',
      edsCluster('c', { health_checks: [{ interval: { seconds: 1 }, tcp_health_check: {} }] }),
      /^cluster c: health_checks\[0\]\.timeout: is required$/,
    ],
    [
      'a health check without thresholds',
      edsCluster('c', { health_checks: [{ timeout: { seconds: 1 }, interval: { seconds: 1 }, tcp_health_check: {} }] }),
      /health_checks\[0\]\.healthy_threshold: is required/,
    ],
    [
      'a health check without a checker',
      edsCluster('c', { health_checks: [HC] }),
      /health_checks\[0\]: needs http_health_check, tcp_health_check or grpc_health_check/,
    ],
    [
      'a custom health checker',
      edsCluster('c', { health_checks: [{ ...HC, custom_health_check: { name: 'redis' } }] }),
      /health_checks\[0\]\.custom_health_check: not supported/,
    ],
    [
      'an HTTP health check without a path',
      edsCluster('c', { health_checks: [{ ...HC, http_health_check: {} }] }),
      /health_checks\[0\]\.http_health_check\.path: is required/,
    ],
    [
      'a CONNECT health check',
      edsCluster('c', { health_checks: [{ ...HC, http_health_check: { path: '/', method: 'CONNECT' } }] }),
      /http_health_check\.method: CONNECT is not allowed/,
    ],
    [
      'an HTTP/3 health check',
      edsCluster('c', { health_checks: [{ ...HC, http_health_check: { path: '/', codec_client_type: 'HTTP3' } }] }),
      /http_health_check\.codec_client_type: HTTP3 is not supported/,
    ],
    [
      'an expected status range outside [100, 600)',
      edsCluster('c', {
        health_checks: [{ ...HC, http_health_check: { path: '/', expected_statuses: [{ start: 200, end: 700 }] } }],
      }),
      /http_health_check\.expected_statuses\[0\]: expected a range/,
    ],
    [
      'a payload that is not hex',
      edsCluster('c', { health_checks: [{ ...HC, tcp_health_check: { send: { text: 'PING' } } }] }),
      /tcp_health_check\.send\.text: expected hex bytes/,
    ],
  ];
  for (const [label, object, pattern] of errors) {
    it(`rejects ${label}, naming the field path`, () => {
      expect(error(object)).to.match(pattern);
    });
  }
});
