// Registers the built-in HTTP filters by their typed_config message type (the decoders accept exactly these).
import { COMPRESSOR_TYPE, CORS_TYPE, FAULT_TYPE, LOCAL_RATELIMIT_TYPE } from '../config/model.ts';
import { HttpFilterRegistry } from '../http/filter/registry.ts';
import { compressorFilter } from './compressor/compressor-filter.ts';
import { corsFilter } from './cors/cors-filter.ts';
import { faultFilter } from './fault/fault-filter.ts';
import { localRateLimitFilter } from './local-ratelimit/local-ratelimit-filter.ts';

export function setup(registry: HttpFilterRegistry = new HttpFilterRegistry()): HttpFilterRegistry {
  registry.register(FAULT_TYPE, faultFilter);
  registry.register(LOCAL_RATELIMIT_TYPE, localRateLimitFilter());
  registry.register(COMPRESSOR_TYPE, compressorFilter);
  registry.register(CORS_TYPE, corsFilter);
  return registry;
}
