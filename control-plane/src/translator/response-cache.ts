// A TrafficPolicy's responseCache as Envoy's cache filter (in-memory store) on the service's inbound connection manager.
import { EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import type { ResponseCache } from '../resources/types.ts';

export const CACHE_FILTER_NAME = 'envoy.filters.http.cache';
const DEFAULT_MAX_BODY = 1024 * 1024;

/**
 * The cache filter: responses may vary on Accept-Encoding (the compressor after it stores one variant per coding)
 * and on the policy's headers; stats `http.inbound.cache.*`.
 */
export function cacheHttpFilter(cache: ResponseCache): Record<string, unknown> {
  const vary = ['accept-encoding', ...(cache.varyHeaders ?? []).filter((h) => h !== 'accept-encoding')];
  return {
    name: CACHE_FILTER_NAME,
    typed_config: {
      '@type': typeUrl(EXTENSION_TYPES.cache),
      typed_config: { '@type': typeUrl(EXTENSION_TYPES.simpleHttpCache) },
      allowed_vary_headers: vary.map((exact) => ({ exact })),
      max_body_bytes: cache.maxBodyBytes ?? DEFAULT_MAX_BODY,
    },
  };
}
