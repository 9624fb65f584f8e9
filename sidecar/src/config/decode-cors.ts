// Decodes CORS policies (envoy.filters.http.cors's CorsPolicy, and routes' and virtual hosts' legacy `cors`) and
// merges a route's policy over its virtual host's, field by field, as Envoy reads them.
import { fraction } from './decode-fault.ts';
import { stringMatcher } from './decode-matchers.ts';
import { at, type Obj, objList, optObj, str, wrappedBool } from './decode-values.ts';
import type { CorsPolicyConfig, Fraction, PerFilterConfigs } from './model.ts';
import { CORS_POLICY_TYPE } from './model.ts';

function optBool(v: unknown, path: string): boolean | undefined {
  return v === undefined || v === null ? undefined : wrappedBool(v, path, false);
}

/** A RuntimeFractionalPercent's default_value; undefined when unset. */
function optFraction(v: unknown, path: string): Fraction | undefined {
  const o = optObj(v, path);
  return o === undefined ? undefined : fraction(o['default_value'], at(path, 'default_value'));
}

/** A CorsPolicy (either message: the legacy one adds filter_enabled and shadow_enabled); unset fields stay unset. */
export function corsPolicy(o: Obj, path: string): CorsPolicyConfig {
  const out: CorsPolicyConfig = {};
  const origins = objList(o['allow_origin_string_match'], at(path, 'allow_origin_string_match'));
  if (origins.length > 0)
    out.allowOrigins = origins.map((m, i) => stringMatcher(m, at(at(path, 'allow_origin_string_match'), i)));
  for (const [key, field] of [
    ['allowMethods', 'allow_methods'],
    ['allowHeaders', 'allow_headers'],
    ['exposeHeaders', 'expose_headers'],
    ['maxAge', 'max_age'],
  ] as const) {
    const value = str(o[field]);
    if (value !== '') out[key] = value;
  }
  for (const [key, field] of [
    ['allowCredentials', 'allow_credentials'],
    ['allowPrivateNetworkAccess', 'allow_private_network_access'],
    ['forwardNotMatchingPreflights', 'forward_not_matching_preflights'],
  ] as const) {
    const value = optBool(o[field], at(path, field));
    if (value !== undefined) out[key] = value;
  }
  const enabled = optFraction(o['filter_enabled'], at(path, 'filter_enabled'));
  if (enabled !== undefined) out.enabled = enabled;
  const shadow = optFraction(o['shadow_enabled'], at(path, 'shadow_enabled'));
  if (shadow !== undefined) out.shadow = shadow;
  return out;
}

/** `over`'s fields, each unset one taken from `under` (a route's policy over its virtual host's). */
export function mergeCors(over: CorsPolicyConfig, under: CorsPolicyConfig): CorsPolicyConfig {
  const merged: CorsPolicyConfig = { ...under };
  for (const [key, value] of Object.entries(over)) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

/**
 * A route's per-filter configs with its CORS policies completed from the virtual host's (same filter name), and the
 * legacy `cors` fields (route over virtual host) under the CorsPolicy type name, which the filter reads only when no
 * policy is configured by name (as Envoy ignores the legacy fields then).
 */
export function withCors(
  route: PerFilterConfigs | undefined,
  vhost: PerFilterConfigs | undefined,
  legacy: CorsPolicyConfig | undefined,
): PerFilterConfigs | undefined {
  if (route === undefined && legacy === undefined) return undefined;
  const out: Record<string, PerFilterConfigs[string]> = { ...route };
  for (const [name, config] of Object.entries(out)) {
    const under = vhost?.[name];
    if (config.typeName === CORS_POLICY_TYPE && under?.typeName === CORS_POLICY_TYPE)
      out[name] = { typeName: CORS_POLICY_TYPE, config: mergeCors(config.config, under.config) };
  }
  if (legacy !== undefined) out[CORS_POLICY_TYPE] = { typeName: CORS_POLICY_TYPE, config: legacy };
  return out;
}
