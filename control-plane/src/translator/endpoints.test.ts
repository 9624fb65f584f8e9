// Load assignments: subset label filtering, zone localities with weights, IP-only endpoints, empty clusters.
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import type { Endpoint } from '../registry/endpoint.ts';
import { buildLoadAssignment, clusterEndpoints } from './endpoints.ts';
import { endpoint, shopMesh } from './fixtures.ts';
import type { ClusterKey } from './mesh-index.ts';
import { translate } from './translate.ts';

interface Locality {
  locality: { region: string; zone: string; sub_zone: string };
  load_balancing_weight: { value: number };
  lb_endpoints: {
    endpoint: { address: { socket_address: { address: string; port_value: number } } };
    load_balancing_weight: { value: number };
    health_status: string;
  }[];
}

const PORT = { name: 'http', port: 8080, protocol: 'HTTP' } as const;
const PORT_KEY: ClusterKey = { name: 'orders|8080', service: 'orders', port: PORT };
const V2_KEY: ClusterKey = {
  name: 'orders|8080|v2',
  service: 'orders',
  port: PORT,
  subset: { name: 'v2', labels: { version: 'v2' } },
};

function assignment(key: ClusterKey, eps: Endpoint[]): { cluster_name: string; endpoints: Locality[] } {
  const cla = buildLoadAssignment(key, eps);
  anyOf(TYPE_URLS.endpoint, cla);
  return cla as { cluster_name: string; endpoints: Locality[] };
}

function addresses(l: Locality): string[] {
  return l.lb_endpoints.map(
    (e) => `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`,
  );
}

describe('load assignments', () => {
  it('groups a port cluster’s endpoints by zone, weighting each locality by the sum of its endpoints', () => {
    const cla = assignment(PORT_KEY, [...(shopMesh().endpoints.get('orders') ?? [])]);
    expect(cla.cluster_name).to.equal('orders|8080');
    expect(cla.endpoints.map((l) => l.locality)).to.deep.equal([
      { region: '', zone: 'a', sub_zone: '' },
      { region: '', zone: 'b', sub_zone: '' },
    ]);
    expect(cla.endpoints.map((l) => l.load_balancing_weight.value)).to.deep.equal([3, 3]);
    expect(cla.endpoints.map(addresses)).to.deep.equal([['10.0.0.2:8080', '10.0.0.3:8080'], ['10.0.0.1:8080']]);
    const first = cla.endpoints[0]?.lb_endpoints[1];
    expect(first?.load_balancing_weight).to.deep.equal({ value: 2 });
    expect(first?.health_status).to.equal('HEALTHY');
  });

  it('gives a subset cluster only the endpoints carrying every subset label', () => {
    const eps = [
      endpoint('orders', '10.0.0.1', 80, { labels: { version: 'v2', track: 'x' } }),
      endpoint('orders', '10.0.0.2', 80, { labels: { version: 'v1' } }),
      endpoint('orders', '10.0.0.3', 80),
    ];
    expect(clusterEndpoints(V2_KEY, eps).map((e) => e.address)).to.deep.equal(['10.0.0.1']);
    expect(clusterEndpoints(PORT_KEY, eps)).to.have.length(3);
  });

  it('uses each endpoint’s own port, dedupes address:port and leaves out non-IP addresses', () => {
    const eps = [
      endpoint('orders', '127.0.0.1', 50002),
      endpoint('orders', '127.0.0.1', 50001),
      endpoint('orders', '127.0.0.1', 50001, { source: 'node-1' }),
      endpoint('orders', 'orders.example.com', 80),
      endpoint('orders', '::1', 50003),
    ];
    const cla = assignment(PORT_KEY, eps);
    expect(cla.endpoints.flatMap(addresses)).to.deep.equal(['127.0.0.1:50001', '127.0.0.1:50002', '::1:50003']);
  });

  it('clamps weights to positive integers (a locality never weighs 0)', () => {
    const cla = assignment(PORT_KEY, [
      endpoint('orders', '10.0.0.1', 80, { weight: 0 }),
      endpoint('orders', '10.0.0.2', 80, { weight: 2.6 }),
    ]);
    expect(cla.endpoints[0]?.lb_endpoints.map((e) => e.load_balancing_weight.value)).to.deep.equal([1, 3]);
    expect(cla.endpoints[0]?.load_balancing_weight.value).to.equal(4);
  });

  it('emits an assignment with no endpoints for a cluster with none', () => {
    expect(assignment(V2_KEY, [])).to.deep.equal({ cluster_name: 'orders|8080|v2', endpoints: [] });
    const res = translate(shopMesh(), 'envoy');
    const v2grpc = res.endpoint.find((e) => e['cluster_name'] === 'orders|9090|v2') as { endpoints: Locality[] };
    // Endpoints carry their own port, so the 9090 subset cluster gets the same v2 endpoint as the 8080 one.
    expect(v2grpc.endpoints.flatMap(addresses)).to.deep.equal(['10.0.0.3:8080']);
  });
});
