// Decodes envoy.filters.http.cache's CacheConfig (its in-memory SimpleHttpCacheConfig store) into the model.
import { EXTENSION_TYPES } from '@trellis/xds-protos';
import { stringMatcher } from './decode-matchers.ts';
import { anyTypeName, at, fail, num, type Obj, objList, optObj, wrappedBool } from './decode-values.ts';
import type { CacheFilterConfig } from './model.ts';

export function cacheConfig(o: Obj, path: string): CacheFilterConfig {
  const disabled = wrappedBool(o['disabled'], at(path, 'disabled'), false);
  const store = optObj(o['typed_config'], at(path, 'typed_config'));
  if (store === undefined && !disabled) fail(at(path, 'typed_config'), 'is required (the cache store)');
  if (store !== undefined && anyTypeName(store) !== EXTENSION_TYPES.simpleHttpCache)
    fail(
      at(path, 'typed_config'),
      `unsupported cache store ${anyTypeName(store) || '(no type)'}: expected ${EXTENSION_TYPES.simpleHttpCache}`,
    );
  const key = optObj(o['key_creator_params'], at(path, 'key_creator_params')) ?? {};
  for (const field of ['query_parameters_included', 'query_parameters_excluded']) {
    if (objList(key[field], at(at(path, 'key_creator_params'), field)).length > 0)
      fail(at(at(path, 'key_creator_params'), field), 'is not supported by the sidecar');
  }
  const maxBodyBytes = num(o['max_body_bytes'], at(path, 'max_body_bytes'), 0);
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 0)
    fail(at(path, 'max_body_bytes'), `expected a byte count, got ${maxBodyBytes}`);
  return {
    disabled,
    allowedVaryHeaders: objList(o['allowed_vary_headers'], at(path, 'allowed_vary_headers')).map((m, i) =>
      stringMatcher(m, at(at(path, 'allowed_vary_headers'), i)),
    ),
    excludeScheme: key['exclude_scheme'] === true,
    excludeHost: key['exclude_host'] === true,
    maxBodyBytes,
    ignoreRequestCacheControl: o['ignore_request_cache_control_header'] === true,
  };
}
