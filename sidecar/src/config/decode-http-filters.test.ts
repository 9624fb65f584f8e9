// HTTP filter decoding: the fault filter before the router, per-route overrides, and clear errors for what is refused.
import { expect } from 'chai';
import { setup } from '../filters/setup.ts';
import { DECODABLE_FILTER_TYPES, httpFilters, perFilterConfigs } from './decode-http-filters.ts';
import { FAULT_TYPE } from './model.ts';

const FAULT_URL = `type.googleapis.com/${FAULT_TYPE}`;
const ROUTER = {
  name: 'envoy.filters.http.router',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
};

function faultFilter(config: Record<string, unknown>, name = 'envoy.filters.http.fault') {
  return { name, typed_config: { '@type': FAULT_URL, ...config } };
}

describe('HTTP filter decoding', () => {
  it('decodes the fault filter before the router (delay, abort, percentages, headers, max_active_faults)', () => {
    const filters = httpFilters(
      [
        faultFilter({
          delay: {
            fixed_delay: { seconds: 1, nanos: 500_000_000 },
            percentage: { numerator: 5, denominator: 'TEN_THOUSAND' },
          },
          abort: { grpc_status: 14, percentage: { numerator: 250 } },
          headers: [{ name: 'x-chaos', present_match: true }],
          max_active_faults: { value: 3 },
        }),
        ROUTER,
      ],
      'hcm.http_filters',
    );
    expect(filters).to.deep.equal([
      {
        name: 'envoy.filters.http.fault',
        typeName: FAULT_TYPE,
        config: {
          delay: { fixedDelayMs: 1500, percentage: { numerator: 5, denominator: 10_000 } },
          // A numerator above its denominator is 100 %.
          abort: { grpcStatus: 14, percentage: { numerator: 100, denominator: 100 } },
          headers: [{ name: 'x-chaos', present: true, invert: false }],
          maxActiveFaults: 3,
        },
      },
    ]);
  });

  it('the router alone decodes to no filters; header_delay and header_abort leave the values to the request', () => {
    expect(httpFilters([ROUTER], 'f')).to.deep.equal([]);
    const [f] = httpFilters([faultFilter({ delay: { header_delay: {} }, abort: { header_abort: {} } }), ROUTER], 'f');
    expect(f?.config.delay).to.deep.equal({ fixedDelayMs: undefined, percentage: { numerator: 0, denominator: 100 } });
    expect(f?.config.abort).to.deep.equal({ percentage: { numerator: 0, denominator: 100 } });
  });

  it('refuses what it cannot do, naming the field', () => {
    const bad = (config: Record<string, unknown>) => () => httpFilters([faultFilter(config), ROUTER], 'f');
    expect(bad({ abort: { http_status: 700 } })).to.throw(
      'f[0].typed_config.abort.http_status: expected an HTTP status 200-599, got 700',
    );
    expect(bad({ abort: { grpc_status: 17 } })).to.throw('f[0].typed_config.abort.grpc_status');
    expect(bad({ abort: {} })).to.throw('f[0].typed_config.abort: needs http_status, grpc_status or header_abort');
    expect(bad({ upstream_cluster: 'orders' })).to.throw(
      'f[0].typed_config.upstream_cluster: is not supported by the sidecar',
    );
    expect(bad({ delay: { percentage: { numerator: 1 } } })).to.throw('needs fixed_delay or header_delay');
    expect(
      bad({ delay: { fixed_delay: { seconds: 1 }, percentage: { numerator: 1, denominator: 'BILLION' } } }),
    ).to.throw('f[0].typed_config.delay.percentage.denominator');
    expect(() => httpFilters([faultFilter({}), faultFilter({}), ROUTER], 'f')).to.throw('duplicate HTTP filter name');
    expect(() => httpFilters([{ ...faultFilter({}), disabled: true }, ROUTER], 'f')).to.throw('f[0].disabled');
    expect(() => httpFilters([ROUTER, faultFilter({})], 'f')).to.throw('the router filter must be the last');
  });

  it('decodes typed_per_filter_config (bare or in a FilterConfig); optional unknown types are skipped', () => {
    const configs = perFilterConfigs(
      {
        'envoy.filters.http.fault': { '@type': FAULT_URL, abort: { http_status: 418, percentage: { numerator: 100 } } },
        'envoy.filters.http.cors': {
          '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig',
          is_optional: true,
          config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy' },
        },
      },
      'route.typed_per_filter_config',
    );
    expect(configs).to.deep.equal({
      'envoy.filters.http.fault': {
        typeName: FAULT_TYPE,
        config: {
          abort: { httpStatus: 418, percentage: { numerator: 100, denominator: 100 } },
          headers: [],
          maxActiveFaults: undefined,
        },
      },
    });
    expect(() =>
      perFilterConfigs(
        { cors: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy' } },
        'r',
      ),
    ).to.throw('r.cors: unsupported per-route config for HTTP filter cors');
  });

  it('every filter type the decoder accepts has a runtime filter in the built-in registry', () => {
    const registry = setup();
    for (const type of DECODABLE_FILTER_TYPES) expect(registry.get(type), type).to.not.equal(undefined);
  });
});
