// The sidecar's outbound RouteConfiguration: a virtual host per service port, unique domains, CONNECT first.

import type { SidecarParams } from '@trellis/node-contract';
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import { mesh, route, service, shopMesh } from './fixtures.ts';
import { indexMesh } from './mesh-index.ts';
import type { MeshState } from './mesh-state.ts';
import { buildOutboundRouteConfiguration } from './outbound-routes.ts';
import { translate } from './translate.ts';

interface VirtualHost {
  name: string;
  domains: string[];
  routes: { name: string; match: Record<string, unknown>; route: Record<string, unknown> }[];
}

function outbound(state: MeshState): { name: string; virtual_hosts: VirtualHost[] } {
  const warnings: string[] = [];
  const rc = buildOutboundRouteConfiguration(indexMesh(state), state, (m) => warnings.push(m));
  anyOf(TYPE_URLS.route, rc);
  return rc as { name: string; virtual_hosts: VirtualHost[] };
}

describe('outbound route configuration', () => {
  it('has a virtual host per service port, bare names only for the first port, aliases with their port', () => {
    const rc = outbound(shopMesh());
    expect(rc.name).to.equal('outbound');
    expect(rc.virtual_hosts.map((v) => [v.name, v.domains])).to.deep.equal([
      ['orders:8080', ['orders:8080', 'orders', 'orders.shop.svc', 'orders.shop.svc:8080']],
      ['orders:9090', ['orders:9090', 'orders.shop.svc:9090']],
      ['payments:50051', ['payments:50051', 'payments']],
    ]);
  });

  it('never lists a domain in two virtual hosts', () => {
    const state = mesh({
      services: [
        service('a', {
          ports: [
            { name: 'x', port: 1, protocol: 'HTTP' },
            { name: 'y', port: 2, protocol: 'HTTP' },
          ],
        }),
      ],
      routes: [route('r', { hosts: ['a.ns:2', 'a', 'a.ns'], http: [{ route: [{ service: 'a' }] }] })],
    });
    const rc = outbound(state);
    const all = rc.virtual_hosts.flatMap((v) => v.domains);
    expect(new Set(all).size).to.equal(all.length);
    // 'a.ns' bare: port 1 lists it first (host without a port addresses every port).
    expect(rc.virtual_hosts[0]?.domains).to.deep.equal(['a:1', 'a', 'a.ns', 'a.ns:1']);
    expect(rc.virtual_hosts[1]?.domains).to.deep.equal(['a:2', 'a.ns:2']);
  });

  it('opens every virtual host with a CONNECT route to the port cluster, then the port routes', () => {
    const rc = outbound(shopMesh());
    const vh = rc.virtual_hosts[0]!;
    expect(vh.routes[0]).to.deep.equal({
      name: 'connect',
      match: { connect_matcher: {} },
      route: {
        cluster: 'orders|8080',
        upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }],
        timeout: { seconds: 0, nanos: 0 },
      },
    });
    expect(vh.routes.map((r) => r.name)).to.deep.equal(['connect', 'orders/0', 'default']);
  });

  it('keeps the per-port routes, giving routes without a rule timeout timeout 0 (none)', () => {
    const state = shopMesh();
    const perPort = translate(state, 'sidecar').route.find((r) => r['name'] === 'orders:8080') as {
      virtual_hosts: VirtualHost[];
    };
    const vh = outbound(state).virtual_hosts[0]!;
    const [, canary, fallback] = vh.routes;
    expect(canary).to.deep.equal(perPort.virtual_hosts[0]?.routes[0]);
    expect(canary?.route['timeout']).to.deep.equal({ seconds: 2, nanos: 0 });
    expect(fallback?.route).to.deep.equal({ cluster: 'orders|8080', timeout: { seconds: 0, nanos: 0 } });
  });

  it('is emitted (and encodes) for a sidecar with params, even for an empty mesh', () => {
    const params: SidecarParams = {
      inboundAddress: '0.0.0.0',
      inboundPort: 15006,
      outboundPort: 15001,
      tcpUpstreams: [],
    };
    const res = translate(mesh({}), 'sidecar', params);
    expect(res.route).to.deep.equal([{ name: 'outbound', virtual_hosts: [] }]);
    expect(res.listener.map((l) => l['name'])).to.deep.equal(['outbound']);
    anyOf(TYPE_URLS.listener, res.listener[0]!);
  });
});
