// ClusterLoadAssignment decoding: localities, weights, priorities, health, and rejected endpoints.
import { expect } from 'chai';
import { decodeClusterLoadAssignment } from './decode-endpoint.ts';
import { loadAssignment, wire } from './envoy-fixtures.ts';

type Obj = Record<string, unknown>;

function decode(object: Obj) {
  return decodeClusterLoadAssignment(wire('endpoint', object), 'v9');
}

const endpoint = (address: string, port: number, extra: Obj = {}): Obj => ({
  endpoint: { address: { socket_address: { address, port_value: port } } },
  ...extra,
});

describe('decodeClusterLoadAssignment', () => {
  it('decodes what the translator emits', () => {
    expect(decode(loadAssignment('orders|8080', '10.0.0.1:8080', '10.0.0.2:8080'))).to.deep.equal({
      value: {
        clusterName: 'orders|8080',
        version: 'v9',
        localities: [
          {
            zone: 'a',
            region: '',
            priority: 0,
            weight: 2,
            endpoints: [
              { address: '10.0.0.1', port: 8080, weight: 1, health: 'healthy' },
              { address: '10.0.0.2', port: 8080, weight: 1, health: 'healthy' },
            ],
          },
        ],
      },
    });
  });

  it('reads priorities, weights, IPv6 and every health status', () => {
    const r = decode({
      cluster_name: 'c',
      endpoints: [
        {
          priority: 1,
          lb_endpoints: [
            endpoint('::1', 80, { load_balancing_weight: { value: 7 }, health_status: 'DRAINING' }),
            endpoint('10.0.0.3', 80, { health_status: 'UNHEALTHY' }),
            endpoint('10.0.0.4', 80, { health_status: 'DEGRADED' }),
            endpoint('10.0.0.5', 80),
          ],
        },
      ],
    });
    if ('error' in r) throw new Error(r.error);
    const [l] = r.value.localities;
    expect(l?.priority).to.equal(1);
    expect(l?.weight).to.equal(1);
    expect(l?.endpoints.map((e) => [e.address, e.weight, e.health])).to.deep.equal([
      ['::1', 7, 'draining'],
      ['10.0.0.3', 1, 'unhealthy'],
      ['10.0.0.4', 1, 'healthy'],
      ['10.0.0.5', 1, 'unknown'],
    ]);
  });

  it('decodes an empty assignment (a cluster with no endpoints yet)', () => {
    expect(decode({ cluster_name: 'c' })).to.deep.equal({ value: { clusterName: 'c', localities: [], version: 'v9' } });
  });

  const errors: [string, Obj, RegExp][] = [
    [
      'a hostname',
      { cluster_name: 'c', endpoints: [{ lb_endpoints: [endpoint('db', 1)] }] },
      /^cluster load assignment c: endpoints\[0\]\.lb_endpoints\[0\]\.endpoint\.address\.socket_address\.address: expected an IP address/,
    ],
    [
      'port 0',
      { cluster_name: 'c', endpoints: [{ lb_endpoints: [endpoint('10.0.0.1', 0)] }] },
      /socket_address\.port_value: expected a port 1-65535/,
    ],
    [
      'drop overloads',
      { cluster_name: 'c', policy: { drop_overloads: [{ category: 'x' }] } },
      /policy\.drop_overloads: drop overloads are not supported/,
    ],
  ];
  for (const [label, object, pattern] of errors) {
    it(`rejects ${label}, naming the field path`, () => {
      const r = decode(object);
      expect(r).to.have.property('error').that.matches(pattern);
    });
  }
});
