// Decodes an HCM's http_filters (the router last) and routes' typed_per_filter_config into typed filter configs.
import { EXTENSION_TYPES } from '@trellis/xds-protos';
import { cacheConfig } from './decode-cache.ts';
import { compressorConfig, compressorPerRouteConfig } from './decode-compressor.ts';
import { corsPolicy } from './decode-cors.ts';
import { decompressorConfig } from './decode-decompressor.ts';
import { faultConfig } from './decode-fault.ts';
import { jwtAuthnConfig } from './decode-jwt-authn.ts';
import { localRateLimitConfig } from './decode-local-ratelimit.ts';
import { rbacConfig } from './decode-rbac.ts';
import { typescriptFilterConfig } from './decode-typescript-filter.ts';
import { anyTypeName, at, fail, type Obj, objList, optObj, str, structToJson } from './decode-values.ts';
import {
  CACHE_TYPE,
  COMPRESSOR_PER_ROUTE_TYPE,
  COMPRESSOR_TYPE,
  CORS_POLICY_TYPE,
  CORS_TYPE,
  DECOMPRESSOR_TYPE,
  FAULT_TYPE,
  type HttpFilterConfig,
  type HttpFilterTypedConfig,
  JWT_AUTHN_TYPE,
  LOCAL_RATELIMIT_TYPE,
  type PerFilterConfigs,
  RBAC_TYPE,
  TYPESCRIPT_FILTER_PER_ROUTE_TYPE,
  TYPESCRIPT_FILTER_TYPE,
} from './model.ts';

export const ROUTER_TYPE = EXTENSION_TYPES.router;
const ROUTER_NAMES: ReadonlySet<string> = new Set(['envoy.filters.http.router', 'envoy.router', 'router']);
const FILTER_CONFIG_TYPE = 'envoy.config.route.v3.FilterConfig';

type Decoder = (o: Obj, path: string) => HttpFilterTypedConfig;

/** The filter types the sidecar runs, by typed_config message type: each decodes its own config. */
const DECODERS: Readonly<Record<string, Decoder>> = {
  [FAULT_TYPE]: (o, path) => ({ typeName: FAULT_TYPE, config: faultConfig(o, path) }),
  [RBAC_TYPE]: (o, path) => ({ typeName: RBAC_TYPE, config: rbacConfig(o, path) }),
  [JWT_AUTHN_TYPE]: (o, path) => ({ typeName: JWT_AUTHN_TYPE, config: jwtAuthnConfig(o, path) }),
  [LOCAL_RATELIMIT_TYPE]: (o, path) => ({ typeName: LOCAL_RATELIMIT_TYPE, config: localRateLimitConfig(o, path) }),
  [COMPRESSOR_TYPE]: (o, path) => ({ typeName: COMPRESSOR_TYPE, config: compressorConfig(o, path) }),
  // The filter itself has no config: routes and virtual hosts carry the policies.
  [CORS_TYPE]: () => ({ typeName: CORS_TYPE, config: {} }),
  [CACHE_TYPE]: (o, path) => ({ typeName: CACHE_TYPE, config: cacheConfig(o, path) }),
  [DECOMPRESSOR_TYPE]: (o, path) => ({ typeName: DECOMPRESSOR_TYPE, config: decompressorConfig(o, path) }),
  [TYPESCRIPT_FILTER_TYPE]: (o, path) => ({
    typeName: TYPESCRIPT_FILTER_TYPE,
    config: typescriptFilterConfig(o, path),
  }),
};

const TYPED_STRUCT_TYPE = EXTENSION_TYPES.typedStruct;

/**
 * A typed_config's type and its fields: an xds.type.v3.TypedStruct (how custom extensions travel) counts as the type
 * it names, with its Struct as plain JSON.
 */
function unwrap(config: Obj, path: string): { type: string; fields: Obj; path: string } {
  const type = anyTypeName(config);
  if (type !== TYPED_STRUCT_TYPE) return { type, fields: config, path };
  const url = str(config['type_url']);
  return { type: url.slice(url.lastIndexOf('/') + 1), fields: structToJson(config['value']), path: at(path, 'value') };
}

/** Per-route configs: a filter's own message type, or a per-route message of its own (CompressorPerRoute). */
const PER_ROUTE_DECODERS: Readonly<Record<string, Decoder>> = {
  [FAULT_TYPE]: DECODERS[FAULT_TYPE] as Decoder,
  [LOCAL_RATELIMIT_TYPE]: DECODERS[LOCAL_RATELIMIT_TYPE] as Decoder,
  [COMPRESSOR_PER_ROUTE_TYPE]: (o, path) => ({
    typeName: COMPRESSOR_PER_ROUTE_TYPE,
    config: compressorPerRouteConfig(o, path),
  }),
  [CORS_POLICY_TYPE]: (o, path) => ({ typeName: CORS_POLICY_TYPE, config: corsPolicy(o, path) }),
  [TYPESCRIPT_FILTER_PER_ROUTE_TYPE]: (o) => ({
    typeName: TYPESCRIPT_FILTER_PER_ROUTE_TYPE,
    config: { disabled: o['disabled'] === true, config: o['config'] ?? null },
  }),
  // A route's CacheConfig (`disabled: true` turns the cache off there).
  [CACHE_TYPE]: DECODERS[CACHE_TYPE] as Decoder,
};

/** The message types of the HTTP filters this decoder knows (the runtime registry must build each of them). */
export const DECODABLE_FILTER_TYPES: readonly string[] = Object.keys(DECODERS);

/**
 * The HTTP filter chain: the router must come last; filters before it are decoded by their typed_config type. A filter
 * of an unknown type marked `is_optional` is skipped (as Envoy skips optional filters it does not know); `disabled`
 * filters (enabled per route in Envoy) and config discovery are refused.
 */
export function httpFilters(v: unknown, path: string): HttpFilterConfig[] {
  const filters = objList(v, path);
  if (filters.length === 0) fail(path, 'needs the router filter');
  const out: HttpFilterConfig[] = [];
  const names = new Set<string>();
  for (const [i, f] of filters.entries()) {
    const fpath = at(path, i);
    const config = optObj(f['typed_config'], at(fpath, 'typed_config'));
    if (f['config_discovery'] !== undefined)
      fail(at(fpath, 'config_discovery'), 'filter config discovery is not supported');
    const typed = config === undefined ? undefined : unwrap(config, at(fpath, 'typed_config'));
    const type = typed?.type ?? '';
    const name = str(f['name']);
    const isRouter = type === ROUTER_TYPE || (type === '' && ROUTER_NAMES.has(name));
    if (isRouter) {
      if (i !== filters.length - 1) fail(fpath, 'the router filter must be the last HTTP filter');
      return out;
    }
    const decode = typed === undefined ? undefined : DECODERS[type];
    if (decode === undefined) {
      if (f['is_optional'] === true) continue;
      fail(config ? at(fpath, 'typed_config') : fpath, `unsupported HTTP filter ${type || name || '(unnamed)'}`);
    }
    if (f['disabled'] === true) fail(at(fpath, 'disabled'), 'filters disabled by default are not supported');
    if (name === '') fail(at(fpath, 'name'), 'is required');
    if (names.has(name)) fail(at(fpath, 'name'), `duplicate HTTP filter name ${name}`);
    names.add(name);
    const { fields, path: cpath } = typed as NonNullable<typeof typed>;
    out.push({ name, ...decode(fields, cpath) });
  }
  return fail(path, 'the router filter must be the last HTTP filter');
}

/**
 * A route's or virtual host's `typed_per_filter_config` (filter name → Any, or a FilterConfig wrapping one); unknown
 * types are refused unless marked optional. Undefined when there is none.
 */
export function perFilterConfigs(v: unknown, path: string): PerFilterConfigs | undefined {
  const map = optObj(v, path);
  if (map === undefined) return undefined;
  const out: Record<string, HttpFilterTypedConfig> = {};
  for (const [name, raw] of Object.entries(map)) {
    const epath = at(path, name);
    let any = optObj(raw, epath);
    if (any === undefined) continue;
    let optional = false;
    if (anyTypeName(any) === FILTER_CONFIG_TYPE) {
      if (any['disabled'] === true) fail(at(epath, 'disabled'), 'disabling a filter per route is not supported');
      optional = any['is_optional'] === true;
      any = optObj(any['config'], at(epath, 'config'));
      if (any === undefined) continue;
    }
    const { type, fields, path: cpath } = unwrap(any, epath);
    const decode = PER_ROUTE_DECODERS[type];
    if (decode === undefined) {
      if (optional) continue;
      fail(epath, `unsupported per-route config for HTTP filter ${name}: ${type || '(no type)'}`);
    }
    out[name] = decode(fields, cpath);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
