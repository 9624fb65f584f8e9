// HTTP filter decoding: the fault filter before the router, per-route overrides, and clear errors for what is refused.
import { expect } from 'chai';
import { setup } from '../filters/setup.ts';
import { DECODABLE_FILTER_TYPES, httpFilters, perFilterConfigs } from './decode-http-filters.ts';
import { FAULT_TYPE, LOCAL_RATELIMIT_TYPE } from './model.ts';

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
    if (f?.typeName !== FAULT_TYPE) throw new Error('expected the fault filter');
    expect(f.config.delay).to.deep.equal({ fixedDelayMs: undefined, percentage: { numerator: 0, denominator: 100 } });
    expect(f.config.abort).to.deep.equal({ percentage: { numerator: 0, denominator: 100 } });
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
    expect(bad({ filter_metadata: { fields: {} } })).to.throw('f[0].typed_config.filter_metadata: is not supported');
    expect(bad({ delay: { fixed_delay: {}, percentage: { numerator: 1 } } })).to.throw(
      'f[0].typed_config.delay.fixed_delay: expected more than 0',
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
        'envoy.filters.http.rbac': {
          '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig',
          is_optional: true,
          config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute' },
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
        { rbac: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute' } },
        'r',
      ),
    ).to.throw('r.rbac: unsupported per-route config for HTTP filter rbac');
  });

  it('decodes the local rate limit filter (bucket, enabled/enforced shares, status by name) and refuses the rest', () => {
    const url = `type.googleapis.com/${LOCAL_RATELIMIT_TYPE}`;
    const rl = (config: Record<string, unknown>) => [
      { name: 'envoy.filters.http.local_ratelimit', typed_config: { '@type': url, stat_prefix: 'rl', ...config } },
      ROUTER,
    ];
    const [f] = httpFilters(
      rl({
        token_bucket: { max_tokens: 10, tokens_per_fill: { value: 5 }, fill_interval: { seconds: 1 } },
        filter_enabled: { default_value: { numerator: 100 } },
        filter_enforced: { default_value: { numerator: 50 } },
        status: { code: 'ServiceUnavailable' },
      }),
      'f',
    );
    expect(f?.config).to.deep.equal({
      statPrefix: 'rl',
      tokenBucket: { maxTokens: 10, tokensPerFill: 5, fillIntervalMs: 1000 },
      enabled: { numerator: 100, denominator: 100 },
      enforced: { numerator: 50, denominator: 100 },
      status: 503,
      resourceExhausted: false,
      rateLimitHeaders: false,
      descriptors: [],
      alwaysConsumeDefault: true,
    });
    // Unset shares are 0 % (Envoy): the filter counts nothing and refuses nothing until enabled.
    const [bare] = httpFilters(rl({}), 'f');
    expect(bare?.config).to.include({ status: 429 });
    const bad = (config: Record<string, unknown>) => () => httpFilters(rl(config), 'f');
    expect(
      bad({ descriptors: [{ entries: [], token_bucket: { max_tokens: 1, fill_interval: { seconds: 1 } } }] }),
    ).to.throw('f[0].typed_config.descriptors[0].entries: needs at least one entry');
    expect(bad({ descriptors: [{ entries: [{ key: 'remote_address' }] }] })).to.throw(
      'f[0].typed_config.descriptors[0].token_bucket: is required',
    );
    const twice = {
      entries: [{ key: 'k', value: 'v' }],
      token_bucket: { max_tokens: 1, fill_interval: { seconds: 1 } },
    };
    expect(bad({ descriptors: [twice, twice] })).to.throw(
      'f[0].typed_config.descriptors[1]: duplicate descriptor (the same entries as an earlier one)',
    );
    const [withDescriptors] = httpFilters(
      rl({
        descriptors: [
          {
            entries: [{ key: 'remote_address' }],
            token_bucket: { max_tokens: 2, fill_interval: { seconds: 60 } },
          },
        ],
        always_consume_default_token_bucket: { value: false },
      }),
      'f',
    );
    expect(withDescriptors?.config).to.deep.include({
      descriptors: [
        {
          entries: [{ key: 'remote_address', value: '' }],
          tokenBucket: { maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 60_000 },
        },
      ],
      alwaysConsumeDefault: false,
    });
    expect(bad({ token_bucket: { max_tokens: 1, fill_interval: { nanos: 10_000_000 } } })).to.throw(
      'f[0].typed_config.token_bucket.fill_interval: expected at least 50ms, got 10ms',
    );
    expect(bad({ token_bucket: { max_tokens: 0, fill_interval: { seconds: 1 } } })).to.throw(
      'max_tokens: expected at least 1',
    );
    expect(bad({ stat_prefix: '' })).to.throw('f[0].typed_config.stat_prefix: is required');
    // Envoy: a status under 400 is not a refusal, 429 is used.
    expect(httpFilters(rl({ status: { code: 'OK' } }), 'f')[0]?.config).to.include({ status: 429 });
    expect(bad({ status: { code: 'NoSuchStatus' } })).to.throw(
      'f[0].typed_config.status.code: expected an HTTP status',
    );
  });

  it('every filter type the decoder accepts has a runtime filter in the built-in registry', () => {
    const registry = setup();
    for (const type of DECODABLE_FILTER_TYPES) expect(registry.get(type), type).to.not.equal(undefined);
  });
});
