// A TrafficPolicy's rateLimit: Envoy's local rate limit filter on the inbound connection manager of that service's
// sidecars only (encoded as valid Envoy protos).
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import type { SidecarParams } from '../xds/node.ts';
import { mesh, policy, service } from './fixtures.ts';
import { translate } from './translate.ts';

type Obj = Record<string, unknown>;

const params = (svc: string): SidecarParams => ({
  service: svc,
  appPort: 8080,
  inboundAddress: '0.0.0.0',
  inboundPort: 15006,
  outboundPort: 15001,
  tcpUpstreams: [],
});

function inboundFilters(svc: string): Obj[] {
  const state = mesh({
    services: [
      service('web', { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] }),
      service('orders', { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] }),
    ],
    policies: [
      policy('web', { service: 'web', rateLimit: { requestsPerUnit: 50, unit: 'minute', burst: 10, enforce: false } }),
    ],
  });
  const res = translate(state, 'sidecar', params(svc));
  for (const l of res.listener) anyOf(TYPE_URLS.listener, l);
  const inbound = res.listener.find((l) => l['name'] === 'inbound') as Obj;
  const chains = inbound['filter_chains'] as { filters: Obj[] }[];
  const hcm = chains[0]?.filters.at(-1)?.['typed_config'] as Obj;
  return hcm['http_filters'] as Obj[];
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
});
