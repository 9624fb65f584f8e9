// Route rules the proxy answers itself (redirect, direct_response) and mirrors: for proxies (valid Envoy protos);
// proxyless gRPC clients get neither redirects nor direct responses (a warning) nor mirror policies.
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import { mesh, route, service } from './fixtures.ts';
import { translateWithWarnings } from './translate.ts';

type Obj = Record<string, unknown>;

const state = mesh({
  services: [service('shop', { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] })],
  routes: [
    route('shop', {
      hosts: ['shop'],
      http: [
        { match: [{ pathPrefix: '/old' }], redirect: { prefix: '/new', code: 308, stripQuery: true } },
        { match: [{ pathPrefix: '/gone' }], directResponse: { status: 410, body: 'gone' } },
        { route: [{ service: 'shop' }], mirror: { service: 'shop', percent: 12.5 } },
      ],
    }),
  ],
});

function routes(client: 'envoy' | 'proxyless'): { routes: Obj[]; warnings: string[] } {
  const { resources, warnings } = translateWithWarnings(state, client);
  for (const r of resources.route) anyOf(TYPE_URLS.route, r);
  const rc = resources.route.find((r) => r['name'] === 'shop:8080') as Obj;
  return { routes: ((rc['virtual_hosts'] as Obj[])[0] as Obj)['routes'] as Obj[], warnings };
}

describe('redirect and direct response translation', () => {
  it('proxies get redirect and direct_response routes', () => {
    const { routes: rs } = routes('envoy');
    expect(rs[0]).to.deep.include({
      match: { prefix: '/old' },
      redirect: { response_code: 'PERMANENT_REDIRECT', prefix_rewrite: '/new', strip_query: true },
    });
    expect(rs[1]).to.deep.include({
      match: { prefix: '/gone' },
      direct_response: { status: 410, body: { inline_string: 'gone' } },
    });
    expect(rs[2]?.['route']).to.deep.include({
      request_mirror_policies: [
        { cluster: 'shop|8080', runtime_fraction: { default_value: { numerator: 125_000, denominator: 'MILLION' } } },
      ],
    });
  });

  it('proxyless clients, which NACK non-forwarding routes, get the rules as aborts of all their RPCs (fail closed)', () => {
    const { routes: rs } = routes('proxyless');
    const abort = (r: Obj | undefined) =>
      (((r as Obj)['typed_per_filter_config'] as Obj)['envoy.filters.http.fault'] as Obj)['abort'] as Obj;
    expect(rs[0]).to.deep.include({ name: 'shop/0+fault', route: { cluster: 'shop|8080' } });
    expect(abort(rs[0])).to.deep.include({ grpc_status: 14 });
    expect(rs[1]?.['name']).to.equal('shop/1+fault');
    expect(abort(rs[1])).to.deep.include({ http_status: 410 });
    // gRPC does not mirror: the policy is left out for it.
    expect(((rs[2] as Obj)['route'] as Obj)['request_mirror_policies']).to.equal(undefined);
  });
});
