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
      consecutive5xx: 5,
    });
  });

  const errors: [string, Obj, RegExp][] = [
    [
      'CLUSTER_PROVIDED',
      edsCluster('c', { lb_policy: 'CLUSTER_PROVIDED' }),
      /^cluster c: lb_policy: unsupported lb policy CLUSTER_PROVIDED$/,
    ],
    ['STRICT_DNS', { name: 'c', type: 'STRICT_DNS' }, /type: unsupported discovery type STRICT_DNS/],
    [
      'an upstream TLS socket',
      edsCluster('c', { transport_socket: { name: 'tls' } }),
      /transport_socket: not supported/,
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
  ];
  for (const [label, object, pattern] of errors) {
    it(`rejects ${label}, naming the field path`, () => {
      expect(error(object)).to.match(pattern);
    });
  }
});
