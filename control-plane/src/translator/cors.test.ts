// CORS in translation: a rule's policy becomes its routes' CorsPolicy for proxies (never proxyless clients), beside a
// fault in the same typed_per_filter_config, and sidecars' outbound connection managers carry the CORS filter first.
import { EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import { expect } from 'chai';
import { CORS_FILTER_NAME } from './cors.ts';
import { FAULT_FILTER_NAME } from './fault.ts';
import { encodedAll, httpFilterNames, ordersAndWeb, outboundHcm, route, routesOf, sidecarParams } from './fixtures.ts';
import { translate } from './translate.ts';

type Obj = Record<string, unknown>;

const PARAMS = sidecarParams('web');

const withCors = route('orders', {
  hosts: ['orders'],
  http: [
    {
      match: [{ pathPrefix: '/api' }],
      route: [{ service: 'orders' }],
      fault: { abort: { httpStatus: 503, percent: 1 } },
      cors: {
        allowOrigins: [{ exact: 'https://shop.example' }, { regex: 'https://.*\\.shop\\.example' }],
        allowMethods: ['GET', 'POST'],
        allowHeaders: ['content-type'],
        exposeHeaders: ['x-request-id'],
        maxAge: '10m',
        allowCredentials: true,
      },
    },
  ],
});

describe('CORS translation', () => {
  it("a rule's policy becomes its route's CorsPolicy next to its fault; the outbound HCM runs CORS first", () => {
    const res = encodedAll(translate(ordersAndWeb([withCors]), 'sidecar', PARAMS));
    const api = routesOf(res).find((r) => (r['match'] as Obj)['prefix'] === '/api') as Obj;
    const perFilter = api['typed_per_filter_config'] as Obj;
    expect(Object.keys(perFilter)).to.have.members([FAULT_FILTER_NAME, CORS_FILTER_NAME]);
    expect(perFilter[CORS_FILTER_NAME]).to.deep.equal({
      '@type': typeUrl(EXTENSION_TYPES.corsPolicy),
      allow_origin_string_match: [
        { exact: 'https://shop.example' },
        { safe_regex: { regex: 'https://.*\\.shop\\.example' } },
      ],
      allow_methods: 'GET, POST',
      allow_headers: 'content-type',
      expose_headers: 'x-request-id',
      max_age: '600',
      allow_credentials: { value: true },
    });
    expect(httpFilterNames(outboundHcm(res))).to.deep.equal([
      CORS_FILTER_NAME,
      FAULT_FILTER_NAME,
      'envoy.filters.http.router',
    ]);
  });

  it('proxyless clients get no CORS policy; without a policy the outbound HCM has no CORS filter', () => {
    const proxyless = encodedAll(translate(ordersAndWeb([withCors]), 'proxyless'));
    for (const r of routesOf(proxyless))
      expect(Object.keys((r['typed_per_filter_config'] as Obj | undefined) ?? {})).to.not.include(CORS_FILTER_NAME);
    expect(httpFilterNames(outboundHcm(encodedAll(translate(ordersAndWeb([]), 'sidecar', PARAMS))))).to.deep.equal([
      'envoy.filters.http.router',
    ]);
  });
});
