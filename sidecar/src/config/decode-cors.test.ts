// CORS policy decoding from a RouteConfiguration on the wire: the typed CorsPolicy per route over its virtual host's,
// field by field, and the legacy `cors` fields under the policy type (route over virtual host).

import { EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import { expect } from 'chai';
import { decodeRouteConfiguration } from './decode-route.ts';
import { wire } from './envoy-fixtures.ts';
import { CORS_POLICY_TYPE, type PerFilterConfigs } from './model.ts';

type Obj = Record<string, unknown>;

function routes(vhost: Obj, routeExtra: Obj): PerFilterConfigs | undefined {
  const r = decodeRouteConfiguration(
    wire('route', {
      name: 'rc',
      virtual_hosts: [
        {
          name: 'v',
          domains: ['*'],
          ...vhost,
          routes: [{ match: { prefix: '/' }, ...routeExtra, route: { cluster: 'c', ...(routeExtra['route'] as Obj) } }],
        },
      ],
    }),
    'v1',
  );
  if ('error' in r) throw new Error(r.error);
  return r.value.virtualHosts[0]?.routes[0]?.perFilterConfig;
}

const policy = (fields: Obj) => ({ '@type': typeUrl(EXTENSION_TYPES.corsPolicy), ...fields });

describe('CORS policy decoding', () => {
  it("completes a route's typed policy from its virtual host's, field by field", () => {
    const configs = routes(
      {
        typed_per_filter_config: {
          cors: policy({
            allow_origin_string_match: [{ exact: 'https://a.example' }],
            allow_methods: 'GET',
            max_age: '60',
            allow_credentials: { value: true },
          }),
        },
      },
      {
        typed_per_filter_config: {
          cors: policy({ allow_methods: 'PUT', forward_not_matching_preflights: { value: false } }),
        },
      },
    );
    expect(configs?.['cors']).to.deep.equal({
      typeName: CORS_POLICY_TYPE,
      config: {
        allowOrigins: [{ kind: 'exact', value: 'https://a.example', ignoreCase: false }],
        allowMethods: 'PUT',
        maxAge: '60',
        allowCredentials: true,
        forwardNotMatchingPreflights: false,
      },
    });
  });

  it('puts the legacy cors fields (route over virtual host, with filter_enabled and shadow_enabled) under the policy type', () => {
    const configs = routes(
      {
        cors: {
          allow_origin_string_match: [{ suffix: '.example' }],
          expose_headers: 'x-id',
          filter_enabled: { default_value: { numerator: 50 } },
        },
      },
      { route: { cors: { allow_headers: 'x-token', shadow_enabled: { default_value: { numerator: 100 } } } } },
    );
    expect(configs?.[CORS_POLICY_TYPE]).to.deep.equal({
      typeName: CORS_POLICY_TYPE,
      config: {
        allowOrigins: [{ kind: 'suffix', value: '.example', ignoreCase: false }],
        exposeHeaders: 'x-id',
        allowHeaders: 'x-token',
        enabled: { numerator: 50, denominator: 100 },
        shadow: { numerator: 100, denominator: 100 },
      },
    });
  });

  it('a bad origin matcher fails the resource, naming the field', () => {
    const r = decodeRouteConfiguration(
      wire('route', {
        name: 'rc',
        virtual_hosts: [
          {
            name: 'v',
            domains: ['*'],
            cors: { allow_origin_string_match: [{ safe_regex: { regex: '(' } }] },
            routes: [],
          },
        ],
      }),
      'v1',
    );
    expect('error' in r && r.error).to.include(
      'virtual_hosts[0].cors.allow_origin_string_match[0].safe_regex.regex: invalid RE2 regex',
    );
  });
});
