// Gateway translation: a gateway node gets its Gateway's listeners (HTTPS: a chain per certificate by SNI; HTTP) and
// one RouteConfiguration per port with the Routes bound to it; all valid Envoy protos; none for a missing Gateway.
import type { SidecarParams } from '@trellis/node-contract';
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import type { GatewayResource, RouteResource } from '../resources/types.ts';
import { mesh, service, sidecarParams } from './fixtures.ts';
import { translateWithWarnings } from './translate.ts';

type Obj = Record<string, unknown>;

const gateway: GatewayResource = {
  apiVersion: 'trellis.dev/v1',
  kind: 'Gateway',
  metadata: { name: 'edge' },
  spec: {
    servers: [
      {
        port: 8443,
        protocol: 'HTTPS',
        hosts: ['shop.example.com'],
        tls: {
          certificates: [
            { hosts: ['shop.example.com'], certFile: '/c', keyFile: '/k' },
            { certFile: '/d', keyFile: '/e' },
          ],
        },
        hsts: { maxAge: '1h' },
      },
      { port: 8080, protocol: 'HTTP', hosts: ['*'], httpsRedirect: true },
    ],
  },
};

const route = (name: string, gateways?: string[]): RouteResource => ({
  apiVersion: 'trellis.dev/v1',
  kind: 'Route',
  metadata: { name },
  spec: { hosts: ['shop.example.com'], ...(gateways ? { gateways } : {}), http: [{ route: [{ service: 'web' }] }] },
});

function translated(gw: GatewayResource[], routes: RouteResource[]) {
  const params: SidecarParams = { ...sidecarParams('edge'), gateway: 'edge' };
  const state = {
    ...mesh({ services: [service('web', { ports: [{ name: 'http', port: 80, protocol: 'HTTP' }] })], routes }),
    gateways: gw,
  };
  const { resources, warnings } = translateWithWarnings(state, 'sidecar', params);
  for (const l of resources.listener) anyOf(TYPE_URLS.listener, l);
  for (const r of resources.route) anyOf(TYPE_URLS.route, r);
  // api_listeners (proxyless gRPC's) bind nothing: the sidecar skips them.
  const sockets = resources.listener.filter((l) => l['address'] !== undefined);
  return { resources, warnings, sockets };
}

describe('gateway translation', () => {
  it("listeners per Gateway port (a chain per certificate on HTTPS) and the bound Routes' virtual hosts", () => {
    const { resources, sockets } = translated([gateway], [route('shop', ['edge']), route('mesh-only')]);
    expect(sockets.map((l) => l['name'])).to.deep.equal(['gateway|8080', 'gateway|8443']);
    const https = sockets.find((l) => l['name'] === 'gateway|8443') as Obj;
    const chains = https['filter_chains'] as Obj[];
    expect(chains.map((c) => c['filter_chain_match'])).to.deep.equal([
      { server_names: ['shop.example.com'] },
      undefined,
    ]);
    const rc = resources.route.find((r) => r['name'] === 'gateway|edge|8443') as Obj;
    const vhosts = rc['virtual_hosts'] as Obj[];
    expect(vhosts.map((v) => v['name'])).to.deep.equal(['shop']);
    expect(vhosts[0]?.['domains']).to.deep.equal(['shop.example.com', 'shop.example.com:8443']);
    expect(JSON.stringify(rc['response_headers_to_add'])).to.contain('max-age=3600');
    const redirect = resources.route.find((r) => r['name'] === 'gateway|edge|8080') as Obj;
    expect(JSON.stringify(redirect)).to.contain('"https_redirect":true').and.to.contain('"port_redirect":8443');
    // No sidecar inbound or outbound for a gateway.
    expect(sockets.some((l) => l['name'] === 'outbound' || l['name'] === 'inbound')).to.equal(false);
  });

  it('a gateway node whose Gateway does not exist gets no listeners, and a warning', () => {
    const { sockets, warnings } = translated([], []);
    expect(sockets).to.deep.equal([]);
    expect(warnings).to.include('gateway edge: no Gateway resource of that name; the proxy gets no listeners');
  });
});
