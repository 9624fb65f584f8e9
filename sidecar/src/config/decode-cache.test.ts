// Cache filter decoding from the wire: the in-memory store, vary allow list, key params, body bound, refusals.

import { anyOf, decodeAny, EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import { expect } from 'chai';
import { httpFilters } from './decode-http-filters.ts';
import { CACHE_TYPE } from './model.ts';

const ROUTER = { name: 'router', typed_config: { '@type': typeUrl(EXTENSION_TYPES.router) } };
const STORE = { '@type': typeUrl(EXTENSION_TYPES.simpleHttpCache) };

function decoded(config: Record<string, unknown>) {
  const url = typeUrl(EXTENSION_TYPES.cache);
  const [filter] = httpFilters(
    [{ name: 'cache', typed_config: { '@type': url, ...decodeAny(anyOf(url, config)) } }, ROUTER],
    'f',
  );
  if (filter?.typeName !== CACHE_TYPE) throw new Error('expected the cache filter');
  return filter.config;
}

describe('cache filter decoding', () => {
  it('decodes the store, the vary allow list, key params and the body bound', () => {
    expect(
      decoded({
        typed_config: STORE,
        allowed_vary_headers: [{ exact: 'accept-encoding' }, { prefix: 'x-', ignore_case: true }],
        key_creator_params: { exclude_scheme: true },
        max_body_bytes: 4096,
        ignore_request_cache_control_header: true,
      }),
    ).to.deep.equal({
      disabled: false,
      allowedVaryHeaders: [
        { kind: 'exact', value: 'accept-encoding', ignoreCase: false },
        { kind: 'prefix', value: 'x-', ignoreCase: true },
      ],
      excludeScheme: true,
      excludeHost: false,
      maxBodyBytes: 4096,
      ignoreRequestCacheControl: true,
    });
  });

  it('refuses other stores, a missing store and query-parameter keys, naming the field', () => {
    expect(() => decoded({})).to.throw('f[0].typed_config.typed_config: is required (the cache store)');
    expect(() => decoded({ typed_config: { '@type': typeUrl(EXTENSION_TYPES.router) } })).to.throw(
      'f[0].typed_config.typed_config: unsupported cache store envoy.extensions.filters.http.router.v3.Router',
    );
    expect(() =>
      decoded({ typed_config: STORE, key_creator_params: { query_parameters_included: [{ name: 'q' }] } }),
    ).to.throw('f[0].typed_config.key_creator_params.query_parameters_included: is not supported by the sidecar');
    expect(decoded({ disabled: { value: true } }).disabled).to.equal(true);
  });
});
