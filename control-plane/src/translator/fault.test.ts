// Fault injection in translation: a rule's fault becomes its routes' HTTPFault, and client-side connection managers
// (sidecar outbound, proxyless api_listeners) carry the fault filter only while some rule injects faults.
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import type { RouteResource } from '../resources/types.ts';
import type { SidecarParams } from '../xds/node.ts';
import { FAULT_FILTER_NAME, FAULT_TYPE_URL } from './fault.ts';
import { mesh, route, service } from './fixtures.ts';
import type { MeshState, TranslatedResources } from './mesh-state.ts';
import { translate } from './translate.ts';

type Obj = Record<string, unknown>;

const PARAMS: SidecarParams = {
  service: 'web',
  appPort: 8080,
  inboundAddress: '0.0.0.0',
  inboundPort: 15006,
  outboundPort: 15001,
  tcpUpstreams: [],
};

function state(rules: RouteResource[]): MeshState {
  return mesh({
    services: [
      service('orders', { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] }),
      service('web', { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] }),
    ],
    routes: rules,
  });
}

const faulty = route('orders', {
  hosts: ['orders'],
  http: [
    {
      match: [{ pathPrefix: '/slow' }],
      route: [{ service: 'orders' }],
      fault: { delay: { fixedDelay: '1.5s', percent: 12.5 }, abort: { grpcStatus: 'UNAVAILABLE' } },
    },
    { route: [{ service: 'orders' }] },
  ],
});

function encoded(res: TranslatedResources): TranslatedResources {
  for (const type of ['cluster', 'endpoint', 'listener', 'route'] as const)
    for (const r of res[type]) anyOf(TYPE_URLS[type], r);
  return res;
}

function filterNames(hcm: Obj): string[] {
  return (hcm['http_filters'] as Obj[]).map((f) => String(f['name']));
}

function outboundHcm(res: TranslatedResources): Obj {
  const l = res.listener.find((x) => x['name'] === 'outbound') as Obj;
  const chains = l['filter_chains'] as { filters: Obj[] }[];
  return chains[0]?.filters.at(-1)?.['typed_config'] as Obj;
}

function apiHcm(res: TranslatedResources, name: string): Obj {
  const l = res.listener.find((x) => x['name'] === name) as Obj;
  return (l['api_listener'] as Obj)['api_listener'] as Obj;
}

describe('fault injection translation', () => {
  it("a rule's fault becomes its route's typed_per_filter_config HTTPFault (per million, gRPC code by name)", () => {
    const res = encoded(translate(state([faulty]), 'proxyless'));
    const rc = res.route.find((r) => r['name'] === 'orders:8080') as Obj;
    const routes = ((rc['virtual_hosts'] as Obj[])[0] as Obj)['routes'] as Obj[];
    const slow = routes.find((r) => (r['match'] as Obj)['prefix'] === '/slow') as Obj;
    expect(slow['typed_per_filter_config']).to.deep.equal({
      [FAULT_FILTER_NAME]: {
        '@type': FAULT_TYPE_URL,
        delay: {
          fixed_delay: { seconds: 1, nanos: 500_000_000 },
          percentage: { numerator: 125_000, denominator: 'MILLION' },
        },
        abort: { grpc_status: 14, percentage: { numerator: 1_000_000, denominator: 'MILLION' } },
      },
    });
    const other = routes.filter((r) => r !== slow);
    for (const r of other) expect(r['typed_per_filter_config']).to.equal(undefined);
    // Proxyless only: the name tells grpc-js-xds the route changed (it misses a filter config added on its own).
    expect(slow['name']).to.equal('orders/0+fault');
    const sidecarRoutes = translate(state([faulty]), 'sidecar', PARAMS).route.flatMap((rc) =>
      ((rc['virtual_hosts'] as Obj[]) ?? []).flatMap((vh) => vh['routes'] as Obj[]),
    );
    expect(sidecarRoutes.map((r) => r['name']))
      .to.include('orders/0')
      .and.not.include('orders/0+fault');
  });

  it('client-side connection managers carry the fault filter before the router only while a rule injects faults', () => {
    const withFaults = encoded(translate(state([faulty]), 'sidecar', PARAMS));
    expect(filterNames(outboundHcm(withFaults))).to.deep.equal([FAULT_FILTER_NAME, 'envoy.filters.http.router']);
    const proxyless = encoded(translate(state([faulty]), 'proxyless'));
    expect(filterNames(apiHcm(proxyless, 'orders:8080'))).to.deep.equal([
      FAULT_FILTER_NAME,
      'envoy.filters.http.router',
    ]);

    const without = encoded(translate(state([]), 'sidecar', PARAMS));
    expect(filterNames(outboundHcm(without))).to.deep.equal(['envoy.filters.http.router']);
    expect(filterNames(apiHcm(encoded(translate(state([]), 'proxyless')), 'orders:8080'))).to.deep.equal([
      'envoy.filters.http.router',
    ]);
  });
});
