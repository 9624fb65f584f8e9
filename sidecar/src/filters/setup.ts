// Registers the built-in HTTP filters by their typed_config message type (the decoders accept exactly these).
import {
  CACHE_TYPE,
  COMPRESSOR_TYPE,
  CORS_TYPE,
  DECOMPRESSOR_TYPE,
  FAULT_TYPE,
  JWT_AUTHN_TYPE,
  LOCAL_RATELIMIT_TYPE,
  RBAC_TYPE,
  TYPESCRIPT_FILTER_TYPE,
} from '../config/model.ts';
import { HttpFilterRegistry } from '../http/filter/registry.ts';
import { cacheFilter } from './cache/cache-filter.ts';
import { ResponseCaches } from './cache/response-store.ts';
import { compressorFilter } from './compressor/compressor-filter.ts';
import { corsFilter } from './cors/cors-filter.ts';
import { decompressorFilter } from './decompressor/decompressor-filter.ts';
import { faultFilter } from './fault/fault-filter.ts';
import { jwtAuthnFilter } from './jwt-authn/jwt-authn-filter.ts';
import { localRateLimitFilter } from './local-ratelimit/local-ratelimit-filter.ts';
import { rbacFilter } from './rbac/rbac-filter.ts';
import { typescriptFilter } from './typescript/typescript-filter.ts';

/** Registers the built-in filters; the cache filter's stores join `caches` (what the admin purges). */
export function setup(
  registry: HttpFilterRegistry = new HttpFilterRegistry(),
  caches: ResponseCaches = new ResponseCaches(),
): HttpFilterRegistry {
  registry.register(JWT_AUTHN_TYPE, jwtAuthnFilter);
  registry.register(RBAC_TYPE, rbacFilter);
  registry.register(FAULT_TYPE, faultFilter);
  registry.register(LOCAL_RATELIMIT_TYPE, localRateLimitFilter());
  registry.register(COMPRESSOR_TYPE, compressorFilter);
  registry.register(CORS_TYPE, corsFilter);
  registry.register(DECOMPRESSOR_TYPE, decompressorFilter);
  registry.register(CACHE_TYPE, cacheFilter(caches));
  registry.register(TYPESCRIPT_FILTER_TYPE, typescriptFilter);
  return registry;
}
