// A TrafficPolicy's rateLimit: Envoy's local rate limit filter on the inbound connection manager of that service's
// sidecars only (encoded as valid Envoy protos).
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import type { RateLimit } from '../resources/types.ts';
import { mesh, policy, service, sidecarParams } from './fixtures.ts';
import { translate } from './translate.ts';

type Obj = Record<string, unknown>;

const params = sidecarParams;

function inboundHcm(svc: string, rateLimit: RateLimit): Obj {
  const state = mesh({
    services: [
      service('web', { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] }),
      service('orders', { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] }),
    ],
    policies: [policy('web', { service: 'web', rateLimit })],
  });
  const res = translate(state, 'sidecar', params(svc));
  for (const l of res.listener) anyOf(TYPE_URLS.listener, l);
  const inbound = res.listener.find((l) => l['name'] === 'inbound') as Obj;
  const chains = inbound['filter_chains'] as { filters: Obj[] }[];
  return chains[0]?.filters.at(-1)?.['typed_config'] as Obj;
}

function inboundFilters(svc: string): Obj[] {
  return inboundHcm(svc, { requestsPerUnit: 50, unit: 'minute', burst: 10, enforce: false })['http_filters'] as Obj[];
}

describe('rate limit translation', () => {
  it("puts the policy's token bucket on its service's inbound connection manager, before the router", () => {
    const filters = inboundFilters('web');
    expect(filters.map((f) => f['name'])).to.deep.equal([
      'envoy.filters.http.local_ratelimit',
      'envoy.filters.http.router',
    ]);
    expect(filters[0]?.['typed_config']).to.deep.include({
      stat_prefix: 'inbound_rate_limit',
      token_bucket: { max_tokens: 10, tokens_per_fill: { value: 50 }, fill_interval: { seconds: 60, nanos: 0 } },
      filter_enabled: {
        default_value: { numerator: 100, denominator: 'HUNDRED' },
        runtime_key: 'local_rate_limit_enabled',
      },
      // enforce: false is a dry run: counted, never refused.
      filter_enforced: {
        default_value: { numerator: 0, denominator: 'HUNDRED' },
        runtime_key: 'local_rate_limit_enforced',
      },
      rate_limited_as_resource_exhausted: true,
      enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
    });
  });

  it("leaves other services' sidecars alone", () => {
    expect(inboundFilters('orders').map((f) => f['name'])).to.deep.equal(['envoy.filters.http.router']);
  });

  it('a per-client limit is a wildcard descriptor bucket, counted by the inbound route (address or header)', () => {
    const byHeader = inboundHcm('web', {
      perClient: { requestsPerUnit: 5, unit: 'second', by: { header: 'x-api-key' } },
    });
    const filter = (byHeader['http_filters'] as Obj[])[0]?.['typed_config'] as Obj;
    expect(filter['token_bucket']).to.equal(undefined);
    expect(filter['descriptors']).to.deep.equal([
      {
        entries: [{ key: 'client_key', value: '' }],
        token_bucket: { max_tokens: 5, tokens_per_fill: { value: 5 }, fill_interval: { seconds: 1, nanos: 0 } },
      },
    ]);
    const routeOf = (hcm: Obj): Obj => {
      const vhost = ((hcm['route_config'] as Obj)['virtual_hosts'] as Obj[])[0] ?? {};
      const routes = vhost['routes'] as Obj[];
      return routes[0]?.['route'] as Obj;
    };
    expect(routeOf(byHeader)['rate_limits']).to.deep.equal([
      { actions: [{ request_headers: { header_name: 'x-api-key', descriptor_key: 'client_key' } }] },
    ]);
    const byAddress = inboundHcm('web', {
      requestsPerUnit: 100,
      unit: 'second',
      perClient: { requestsPerUnit: 5, unit: 'second' },
    });
    expect(routeOf(byAddress)['rate_limits']).to.deep.equal([{ actions: [{ remote_address: {} }] }]);
    const first = (byAddress['http_filters'] as Obj[])[0] ?? {};
    const bucket = (first['typed_config'] as Obj)['token_bucket'];
    expect(bucket).to.deep.include({ max_tokens: 100 });
  });
});
