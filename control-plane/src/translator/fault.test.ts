// Fault injection in translation: a rule's fault becomes its routes' HTTPFault, and client-side connection managers
// (sidecar outbound, proxyless api_listeners) carry the fault filter only while some rule injects faults.
import { expect } from 'chai';
import type { TranslatedResources } from '../cache/translated-resources.ts';
import { FAULT_FILTER_NAME, FAULT_TYPE_URL } from './fault.ts';
import { encodedAll, httpFilterNames, ordersAndWeb, outboundHcm, route, routesOf, sidecarParams } from './fixtures.ts';
import { translate } from './translate.ts';

type Obj = Record<string, unknown>;

const PARAMS = sidecarParams('web');

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

function apiHcm(res: TranslatedResources, name: string): Obj {
  const l = res.listener.find((x) => x['name'] === name) as Obj;
  return (l['api_listener'] as Obj)['api_listener'] as Obj;
}

describe('fault injection translation', () => {
  it("a rule's fault becomes its route's typed_per_filter_config HTTPFault (per million, gRPC code by name)", () => {
    const res = encodedAll(translate(ordersAndWeb([faulty]), 'proxyless'));
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
    const sidecarRoutes = routesOf(translate(ordersAndWeb([faulty]), 'sidecar', PARAMS));
    expect(sidecarRoutes.map((r) => r['name']))
      .to.include('orders/0')
      .and.not.include('orders/0+fault');
  });

  it('client-side connection managers carry the fault filter before the router only while a rule injects faults', () => {
    const withFaults = encodedAll(translate(ordersAndWeb([faulty]), 'sidecar', PARAMS));
    expect(httpFilterNames(outboundHcm(withFaults))).to.deep.equal([FAULT_FILTER_NAME, 'envoy.filters.http.router']);
    const proxyless = encodedAll(translate(ordersAndWeb([faulty]), 'proxyless'));
    expect(httpFilterNames(apiHcm(proxyless, 'orders:8080'))).to.deep.equal([
      FAULT_FILTER_NAME,
      'envoy.filters.http.router',
    ]);

    const without = encodedAll(translate(ordersAndWeb([]), 'sidecar', PARAMS));
    expect(httpFilterNames(outboundHcm(without))).to.deep.equal(['envoy.filters.http.router']);
    expect(httpFilterNames(apiHcm(encodedAll(translate(ordersAndWeb([]), 'proxyless')), 'orders:8080'))).to.deep.equal([
      'envoy.filters.http.router',
    ]);
  });
});
