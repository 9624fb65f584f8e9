// A TrafficPolicy's compression and responseCache: Envoy's compressor filters (one per coding, the first winning
// ties) and cache filter on the inbound connection manager of that service's sidecars only (valid Envoy protos).
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import * as StructCodec from '../common/struct.ts';
import type { Compression, TrafficPolicySpec } from '../resources/types.ts';
import { mesh, policy, service, sidecarParams } from './fixtures.ts';
import { translate } from './translate.ts';

type Obj = Record<string, unknown>;

const typedConfig = (filter: Obj | undefined): Obj => (filter?.['typed_config'] ?? {}) as Obj;

const params = sidecarParams;

function inboundFilters(svc: string, compression: Compression, extra: Partial<TrafficPolicySpec> = {}): Obj[] {
  const state = mesh({
    services: [
      service('web', { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] }),
      service('orders', { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] }),
    ],
    policies: [
      policy('web', { service: 'web', compression, rateLimit: { requestsPerUnit: 5, unit: 'second' }, ...extra }),
    ],
  });
  const res = translate(state, 'sidecar', params(svc));
  for (const l of res.listener) anyOf(TYPE_URLS.listener, l);
  const inbound = res.listener.find((l) => l['name'] === 'inbound') as Obj;
  const chains = inbound['filter_chains'] as { filters: Obj[] }[];
  const hcm = chains[0]?.filters.at(-1)?.['typed_config'] as Obj;
  return hcm['http_filters'] as Obj[];
}

describe('compression and response cache translation', () => {
  it('offers br, gzip and zstd by default, after the rate limit and before the router', () => {
    const filters = inboundFilters('web', {});
    expect(filters.map((f) => f['name'])).to.deep.equal([
      'envoy.filters.http.local_ratelimit',
      'envoy.filters.http.compressor.brotli',
      'envoy.filters.http.compressor.gzip',
      'envoy.filters.http.compressor.zstd',
      'envoy.filters.http.router',
    ]);
    const br = typedConfig(filters[1]);
    expect(br['choose_first']).to.equal(true);
    expect(br['compressor_library']).to.deep.include({ name: 'brotli' });
    expect(typedConfig(filters[2])['choose_first']).to.equal(false);
  });

  it('carries the codings in order, the minimum size and the media types', () => {
    const filters = inboundFilters('web', { encodings: ['gzip'], minBytes: 512, contentTypes: ['text/csv'] });
    expect(filters.map((f) => f['name'])).to.deep.equal([
      'envoy.filters.http.local_ratelimit',
      'envoy.filters.http.compressor.gzip',
      'envoy.filters.http.router',
    ]);
    expect(typedConfig(filters[1])['response_direction_config']).to.deep.equal({
      common_config: { min_content_length: { value: 512 }, content_type: ['text/csv'] },
    });
  });

  it("leaves other services' sidecars alone", () => {
    expect(inboundFilters('orders', {}).map((f) => f['name'])).to.deep.equal(['envoy.filters.http.router']);
  });

  it('a response cache goes between the rate limit and the compressors, varying on Accept-Encoding and more', () => {
    const filters = inboundFilters(
      'web',
      { encodings: ['gzip'] },
      { responseCache: { varyHeaders: ['accept-language'] } },
    );
    expect(filters.map((f) => f['name'])).to.deep.equal([
      'envoy.filters.http.local_ratelimit',
      'envoy.filters.http.cache',
      'envoy.filters.http.compressor.gzip',
      'envoy.filters.http.router',
    ]);
    expect(typedConfig(filters[1])).to.deep.include({
      allowed_vary_headers: [{ exact: 'accept-encoding' }, { exact: 'accept-language' }],
      max_body_bytes: 1024 * 1024,
    });
  });

  it('filters written in TypeScript go after the rate limit and before the cache, as TypedStructs', () => {
    const source = 'export default { onRequest(req: FilterRequest) { req.setHeader("x-a", "1"); } };';
    const filters = inboundFilters(
      'web',
      { encodings: ['gzip'] },
      {
        responseCache: {},
        filters: [{ name: 'stamp', source, config: { a: [1, 'b'] }, timeout: '20ms' }],
      },
    );
    expect(filters.map((f) => f['name'])).to.deep.equal([
      'envoy.filters.http.local_ratelimit',
      'trellis.filters.typescript.stamp',
      'envoy.filters.http.cache',
      'envoy.filters.http.compressor.gzip',
      'envoy.filters.http.router',
    ]);
    const typed = typedConfig(filters[1]);
    expect(typed['@type']).to.equal('type.googleapis.com/xds.type.v3.TypedStruct');
    expect(typed['type_url']).to.equal('type.googleapis.com/trellis.filters.v1.TypeScriptFilter');
    // What the sidecar decodes out of the Struct.
    const { fromStruct } = StructCodec;
    expect(fromStruct(typed['value'] as Parameters<typeof fromStruct>[0])).to.deep.equal({
      name: 'stamp',
      source,
      config: { a: [1, 'b'] },
      timeout_ms: 20,
    });
  });
});
