// A TrafficPolicy's TypeScript filters on its service's inbound connection manager, and their overrides as inbound
// routes before the catch-all, each carrying TypeScriptFilterPerRoute configs (valid Envoy protos).
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import { fromStruct } from '../common/struct.ts';
import type { TypeScriptFilterSpec } from '../resources/types.ts';
import { mesh, policy, service, sidecarParams } from './fixtures.ts';
import { translate } from './translate.ts';

type Obj = Record<string, unknown>;

const SOURCE = 'export default { onRequest() {} };';

/** The inbound connection manager of web's sidecar under a policy with `filters`. */
function inboundHcm(filters: TypeScriptFilterSpec[]): Obj {
  const state = mesh({
    services: [service('web', { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] })],
    policies: [policy('web', { service: 'web', filters, rateLimit: { requestsPerUnit: 5, unit: 'second' } })],
  });
  const res = translate(state, 'sidecar', sidecarParams('web'));
  for (const l of res.listener) anyOf(TYPE_URLS.listener, l);
  const inbound = res.listener.find((l) => l['name'] === 'inbound') as Obj;
  const chains = inbound['filter_chains'] as { filters: Obj[] }[];
  return chains[0]?.filters.at(-1)?.['typed_config'] as Obj;
}

function routes(hcm: Obj): Obj[] {
  const rc = hcm['route_config'] as { virtual_hosts: { routes: Obj[] }[] };
  return rc.virtual_hosts[0]?.routes ?? [];
}

/** A route's per-filter overrides, decoded: filter name → { disabled } | { config }. */
function overrides(route: Obj): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, any] of Object.entries((route['typed_per_filter_config'] ?? {}) as Record<string, Obj>)) {
    expect(any['type_url']).to.equal('type.googleapis.com/trellis.filters.v1.TypeScriptFilterPerRoute');
    out[name] = fromStruct(any['value'] as Parameters<typeof fromStruct>[0]);
  }
  return out;
}

describe('TypeScript filter translation', () => {
  it('without overrides: the filters in order before the router, one catch-all route', () => {
    const hcm = inboundHcm([
      { name: 'a', source: SOURCE },
      { name: 'b', source: SOURCE },
    ]);
    const names = (hcm['http_filters'] as Obj[]).map((f) => f['name']);
    expect(names).to.deep.equal([
      'envoy.filters.http.local_ratelimit',
      'trellis.filters.typescript.a',
      'trellis.filters.typescript.b',
      'envoy.filters.http.router',
    ]);
    expect(routes(hcm).map((r) => r['name'])).to.deep.equal(['default']);
  });

  it('overrides become routes before the catch-all, in order; one route per distinct match, same action', () => {
    const hcm = inboundHcm([
      {
        name: 'hmac',
        source: SOURCE,
        overrides: [
          { match: { pathPrefix: '/public' }, disabled: true },
          { match: { pathExact: '/gold', headers: { 'X-Tier': { exact: 'gold' } } }, config: { key: 'g' } },
        ],
      },
      { name: 'stamp', source: SOURCE, overrides: [{ match: { pathPrefix: '/public' }, config: { v: 'pub' } }] },
    ]);
    const list = routes(hcm);
    expect(list.map((r) => [r['name'], r['match']])).to.deep.equal([
      ['filter-override-0', { prefix: '/public' }],
      ['filter-override-1', { path: '/gold', headers: [{ name: 'x-tier', string_match: { exact: 'gold' } }] }],
      ['default', { prefix: '/' }],
    ]);
    expect(overrides(list[0] as Obj)).to.deep.equal({
      'trellis.filters.typescript.hmac': { disabled: true },
      'trellis.filters.typescript.stamp': { config: { v: 'pub' } },
    });
    expect(overrides(list[1] as Obj)).to.deep.equal({ 'trellis.filters.typescript.hmac': { config: { key: 'g' } } });
    // Every route goes where the catch-all goes, with the per-client rate limit's descriptors.
    const action = (list[2] as Obj)['route'];
    expect((list[0] as Obj)['route']).to.deep.equal(action);
    expect((list[1] as Obj)['route']).to.deep.equal(action);
  });
});
