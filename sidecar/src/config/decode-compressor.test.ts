// Compressor decoding from the wire (an encoded and decoded Any, as the sidecar gets it): each library with Envoy's
// defaults and bounds, the deprecated top-level fields, per-route overrides, and clear refusals.

import { anyOf, decodeAny, EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import { expect } from 'chai';
import { DEFAULT_CONTENT_TYPES } from './decode-compressor.ts';
import { httpFilters, perFilterConfigs } from './decode-http-filters.ts';
import { COMPRESSOR_PER_ROUTE_TYPE, COMPRESSOR_TYPE } from './model.ts';

const ROUTER = { name: 'router', typed_config: { '@type': typeUrl(EXTENSION_TYPES.router) } };

/** What the sidecar decodes out of an HCM filter entry carrying `config` (through protobuf and back). */
function wire(config: Record<string, unknown>): Record<string, unknown> {
  const url = typeUrl(EXTENSION_TYPES.compressor);
  return { '@type': url, ...decodeAny(anyOf(url, config)) };
}

function decoded(config: Record<string, unknown>) {
  const [filter] = httpFilters([{ name: 'compressor', typed_config: wire(config) }, ROUTER], 'f');
  if (filter?.typeName !== COMPRESSOR_TYPE) throw new Error('expected a compressor');
  return filter.config;
}

const library = (type: string, config: Record<string, unknown> = {}) => ({
  compressor_library: { name: 'text', typed_config: { '@type': typeUrl(type), ...config } },
});

describe('compressor decoding', () => {
  it('gzip with Envoy defaults: level 6, memory 5, window 12, min length 30, the default media types', () => {
    expect(decoded(library(EXTENSION_TYPES.gzipCompressor))).to.deep.equal({
      name: 'text',
      library: { coding: 'gzip', level: 6, memLevel: 5, windowBits: 12, strategy: 0, chunkSize: 4096 },
      enabled: true,
      minContentLength: 30,
      contentTypes: DEFAULT_CONTENT_TYPES,
      disableOnEtag: false,
      removeAcceptEncoding: false,
      chooseFirst: false,
    });
  });

  it('every library field and the response direction config', () => {
    const gzip = decoded({
      ...library(EXTENSION_TYPES.gzipCompressor, {
        compression_level: 'BEST_SPEED',
        compression_strategy: 'RLE',
        memory_level: { value: 9 },
        window_bits: { value: 15 },
        chunk_size: { value: 65536 },
      }),
      response_direction_config: {
        common_config: {
          enabled: { default_value: { value: false }, runtime_key: 'k' },
          min_content_length: { value: 1024 },
          content_type: ['Text/HTML', 'application/wasm'],
        },
        disable_on_etag_header: true,
        remove_accept_encoding_header: true,
      },
      choose_first: true,
    });
    expect(gzip.library).to.deep.equal({
      coding: 'gzip',
      level: 1,
      memLevel: 9,
      windowBits: 15,
      strategy: 3,
      chunkSize: 65536,
    });
    expect(gzip).to.include({
      enabled: false,
      minContentLength: 1024,
      disableOnEtag: true,
      removeAcceptEncoding: true,
      chooseFirst: true,
    });
    expect(gzip.contentTypes).to.deep.equal(['text/html', 'application/wasm']);
    const br = decoded(
      library(EXTENSION_TYPES.brotliCompressor, {
        quality: { value: 11 },
        encoder_mode: 'TEXT',
        window_bits: { value: 24 },
      }),
    );
    expect(br.library).to.deep.equal({
      coding: 'br',
      quality: 11,
      mode: 1,
      windowBits: 24,
      inputBlockBits: 24,
      disableLiteralContextModeling: false,
      chunkSize: 4096,
    });
    const zstd = decoded(
      library(EXTENSION_TYPES.zstdCompressor, {
        compression_level: { value: 19 },
        enable_checksum: true,
        strategy: 'BTOPT',
      }),
    );
    expect(zstd.library).to.deep.equal({ coding: 'zstd', level: 19, checksum: true, strategy: 7, chunkSize: 4096 });
  });

  it('reads the deprecated top-level fields when response_direction_config is absent', () => {
    const c = decoded({
      ...library(EXTENSION_TYPES.gzipCompressor),
      content_length: { value: 100 },
      content_type: ['text/csv'],
      disable_on_etag_header: true,
    });
    expect(c).to.include({ minContentLength: 100, disableOnEtag: true });
    expect(c.contentTypes).to.deep.equal(['text/csv']);
  });

  it('refuses what it cannot do, naming the field', () => {
    expect(() => decoded({})).to.throw('f[0].typed_config.compressor_library: is required');
    expect(() => decoded(library(EXTENSION_TYPES.router))).to.throw(
      'f[0].typed_config.compressor_library.typed_config: unsupported compressor library envoy.extensions.filters.http.router.v3.Router',
    );
    expect(() => decoded(library(EXTENSION_TYPES.gzipCompressor, { window_bits: { value: 8 } }))).to.throw(
      'compressor_library.typed_config.window_bits: expected an integer from 9 to 15, got 8',
    );
    expect(() => decoded({ ...library(EXTENSION_TYPES.gzipCompressor), request_direction_config: {} })).to.throw(
      'f[0].typed_config.request_direction_config: request compression is not supported by the sidecar',
    );
    // Request compression explicitly off is fine.
    decoded({
      ...library(EXTENSION_TYPES.gzipCompressor),
      request_direction_config: { common_config: { enabled: { default_value: { value: false }, runtime_key: 'k' } } },
    });
  });

  it('decodes CompressorPerRoute (disabled, or an override); it is no HCM filter of its own', () => {
    const perRoute = (config: Record<string, unknown>) =>
      perFilterConfigs(
        {
          compressor: {
            '@type': typeUrl(EXTENSION_TYPES.compressorPerRoute),
            ...decodeAny(anyOf(typeUrl(EXTENSION_TYPES.compressorPerRoute), config)),
          },
        },
        'r',
      );
    expect(perRoute({ disabled: true })).to.deep.equal({
      compressor: { typeName: COMPRESSOR_PER_ROUTE_TYPE, config: { disabled: true, removeAcceptEncoding: undefined } },
    });
    expect(
      perRoute({ overrides: { response_direction_config: { remove_accept_encoding_header: { value: true } } } }),
    ).to.deep.equal({
      compressor: { typeName: COMPRESSOR_PER_ROUTE_TYPE, config: { disabled: false, removeAcceptEncoding: true } },
    });
    expect(() =>
      httpFilters(
        [{ name: 'c', typed_config: { '@type': typeUrl(EXTENSION_TYPES.compressorPerRoute), disabled: true } }, ROUTER],
        'f',
      ),
    ).to.throw('unsupported HTTP filter envoy.extensions.filters.http.compressor.v3.CompressorPerRoute');
  });
});
