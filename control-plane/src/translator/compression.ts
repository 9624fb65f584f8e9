// A TrafficPolicy's compression as Envoy's compressor filters (one per coding) on the service's inbound connection manager.
import { EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import type { Compression } from '../resources/types.ts';

/** The codings a policy that names none offers, in order of preference. */
export const DEFAULT_ENCODINGS: readonly NonNullable<Compression['encodings']>[number][] = ['br', 'gzip', 'zstd'];

/** Each coding's library, with the levels web servers use for on-the-fly compression (fast, most of the gain). */
const LIBRARIES: Readonly<Record<NonNullable<Compression['encodings']>[number], { name: string; config: object }>> = {
  br: { name: 'brotli', config: { '@type': typeUrl(EXTENSION_TYPES.brotliCompressor), quality: { value: 4 } } },
  gzip: {
    name: 'gzip',
    config: { '@type': typeUrl(EXTENSION_TYPES.gzipCompressor), compression_level: 'COMPRESSION_LEVEL_6' },
  },
  zstd: { name: 'zstd', config: { '@type': typeUrl(EXTENSION_TYPES.zstdCompressor), compression_level: { value: 3 } } },
};

/**
 * The compressor filters (before the router): one per coding, each with its own stats
 * (`http.inbound.compressor.<coding library>.<library>.*`); the first coding wins ties of q-values.
 */
export function compressionHttpFilters(compression: Compression): Record<string, unknown>[] {
  const encodings = compression.encodings ?? DEFAULT_ENCODINGS;
  const common: Record<string, unknown> = {};
  if (compression.minBytes !== undefined) common['min_content_length'] = { value: compression.minBytes };
  if (compression.contentTypes !== undefined) common['content_type'] = compression.contentTypes;
  return encodings.map((coding, i) => {
    const library = LIBRARIES[coding];
    return {
      name: `envoy.filters.http.compressor.${library.name}`,
      typed_config: {
        '@type': typeUrl(EXTENSION_TYPES.compressor),
        compressor_library: { name: library.name, typed_config: library.config },
        response_direction_config: { common_config: common },
        choose_first: i === 0,
      },
    };
  });
}
