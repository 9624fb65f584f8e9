// Decompressor decoding from the wire: the library, Envoy's defaults (both directions on, Accept-Encoding
// advertised), the direction switches, and clear refusals.

import { anyOf, decodeAny, EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import { expect } from 'chai';
import { httpFilters } from './decode-http-filters.ts';
import { DECOMPRESSOR_TYPE } from './model.ts';

const ROUTER = { name: 'router', typed_config: { '@type': typeUrl(EXTENSION_TYPES.router) } };

function decoded(config: Record<string, unknown>) {
  const url = typeUrl(EXTENSION_TYPES.decompressor);
  const [f] = httpFilters(
    [{ name: 'd', typed_config: { '@type': url, ...decodeAny(anyOf(url, config)) } }, ROUTER],
    'f',
  );
  if (f?.typeName !== DECOMPRESSOR_TYPE) throw new Error('expected the decompressor');
  return f.config;
}

const library = (type: string, config: Record<string, unknown> = {}) => ({
  decompressor_library: { name: 'lib', typed_config: { '@type': typeUrl(type), ...config } },
});

describe('decompressor decoding', () => {
  it("Envoy's defaults: both directions on, Accept-Encoding advertised, ratio 100", () => {
    expect(decoded(library(EXTENSION_TYPES.gzipDecompressor))).to.deep.equal({
      name: 'lib',
      coding: 'gzip',
      windowBits: 15,
      chunkSize: 4096,
      maxInflateRatio: 100,
      request: { enabled: true, ignoreNoTransform: false, advertiseAcceptEncoding: true },
      response: { enabled: true, ignoreNoTransform: false },
    });
  });

  it('reads the library fields and the direction switches', () => {
    const c = decoded({
      ...library(EXTENSION_TYPES.brotliDecompressor, { chunk_size: { value: 8192 } }),
      request_direction_config: {
        common_config: { enabled: { default_value: { value: false }, runtime_key: 'k' } },
        advertise_accept_encoding: { value: false },
      },
      response_direction_config: { common_config: { ignore_no_transform_header: true } },
    });
    expect(c).to.deep.include({ coding: 'br', chunkSize: 8192 });
    expect(c.request).to.deep.equal({ enabled: false, ignoreNoTransform: false, advertiseAcceptEncoding: false });
    expect(c.response).to.deep.equal({ enabled: true, ignoreNoTransform: true });
    const gz = decoded(
      library(EXTENSION_TYPES.gzipDecompressor, { max_inflate_ratio: { value: 20 }, window_bits: { value: 12 } }),
    );
    expect(gz).to.deep.include({ maxInflateRatio: 20, windowBits: 12 });
  });

  it('refuses other libraries and dictionaries, naming the field', () => {
    expect(() => decoded(library(EXTENSION_TYPES.gzipCompressor))).to.throw(
      'decompressor_library.typed_config: unsupported decompressor library envoy.extensions.compression.gzip.compressor.v3.Gzip',
    );
    expect(() =>
      decoded(library(EXTENSION_TYPES.zstdDecompressor, { dictionaries: [{ inline_string: 'x' }] })),
    ).to.throw('dictionaries: zstd dictionaries are not supported');
  });
});
