// The whole translation: every resource fits the Envoy v3 schema, names follow the scheme, output is deterministic.

import type { ClientKind } from '@trellis/node-contract';
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import type { TranslatedResources } from '../cache/translated-resources.ts';
import { endpoint, mesh, route, service, shopMesh } from './fixtures.ts';
import { translate, translateWithWarnings } from './translate.ts';

const CLIENTS: readonly ClientKind[] = ['proxyless', 'sidecar', 'envoy'];

function names(list: Record<string, unknown>[], key = 'name'): string[] {
  return list.map((r) => String(r[key]));
}

function encodeAll(res: TranslatedResources): void {
  for (const type of ['cluster', 'endpoint', 'listener', 'route', 'secret'] as const) {
    for (const r of res[type]) anyOf(TYPE_URLS[type], r);
  }
}

describe('translate', () => {
  for (const client of CLIENTS) {
    it(`emits only schema-valid Envoy v3 resources for ${client} clients`, () => {
      const res = translate(shopMesh(), client);
      expect(res.cluster).to.not.be.empty;
      encodeAll(res);
    });
  }

  it('names clusters, load assignments, route configurations and listeners by the naming scheme', () => {
    const res = translate(shopMesh(), 'proxyless');
    expect(names(res.cluster)).to.deep.equal([
      'orders|8080',
      'orders|8080|v1',
      'orders|8080|v2',
      'orders|9090',
      'orders|9090|v1',
      'orders|9090|v2',
      'payments|50051',
    ]);
    expect(names(res.endpoint, 'cluster_name')).to.deep.equal(names(res.cluster));
    expect(names(res.route)).to.deep.equal(['orders:8080', 'orders:9090', 'payments:50051']);
    // The Route host orders.shop.svc is a name a client can dial too (bare, and with each port).
    expect(names(res.listener)).to.deep.equal([
      'orders',
      'orders.shop.svc',
      'orders.shop.svc:8080',
      'orders.shop.svc:9090',
      'orders:8080',
      'orders:9090',
      'payments',
      'payments:50051',
    ]);
    expect(res.secret).to.deep.equal([]);
  });

  it('points the bare-name listener at the first port', () => {
    const res = translate(shopMesh(), 'proxyless');
    const hcm = (name: string) => {
      const l = res.listener.find((x) => x['name'] === name) as {
        api_listener: { api_listener: Record<string, unknown> };
      };
      return l.api_listener.api_listener as { rds: { route_config_name: string } };
    };
    expect(hcm('orders').rds.route_config_name).to.equal('orders:8080');
    expect(hcm('orders:9090').rds.route_config_name).to.equal('orders:9090');
  });

  it('is deterministic whatever the input order', () => {
    const a = shopMesh();
    const b = { ...a, services: [...a.services].reverse(), routes: [...a.routes].reverse() };
    const eps = new Map([...a.endpoints].reverse().map(([k, v]) => [k, [...v].reverse()] as const));
    for (const client of CLIENTS) {
      const x = JSON.stringify(translate(a, client));
      expect(JSON.stringify(translate({ ...b, endpoints: eps }, client))).to.equal(x);
      expect(JSON.stringify(translate(a, client))).to.equal(x);
    }
  });

  it('translates an empty mesh to empty resource lists', () => {
    expect(translate(mesh({}), 'sidecar')).to.deep.equal({
      cluster: [],
      endpoint: [],
      listener: [],
      route: [],
      secret: [],
    });
  });

  it('reports destinations that do not exist and leaves them out', () => {
    const state = mesh({
      services: [service('a', { ports: [{ name: 'http', port: 80, protocol: 'HTTP' }] })],
      routes: [route('r', { hosts: ['a'], http: [{ route: [{ service: 'ghost' }] }] })],
      endpoints: [endpoint('a', '10.0.0.1', 80)],
    });
    const { resources, warnings } = translateWithWarnings(state, 'proxyless');
    expect(warnings.join('\n')).to.match(/Route r\/0: route\[0\]: destination ghost does not exist/);
    const vh = (resources.route[0] as { virtual_hosts: { routes: { name: string }[] }[] }).virtual_hosts[0];
    expect(vh?.routes.map((r) => r.name)).to.deep.equal(['default']);
    encodeAll(resources);
  });
});
