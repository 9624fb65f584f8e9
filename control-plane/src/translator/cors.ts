// CORS: Envoy's CORS filter (envoy.filters.http.cors) in the sidecars' outbound connection managers, and a rule's
// policy as the route's typed_per_filter_config CorsPolicy.
import { EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import { parseDuration } from '../resources/duration.ts';
import type { CorsPolicy, RouteResource } from '../resources/types.ts';

export const CORS_FILTER_NAME = 'envoy.filters.http.cors';

/** Whether any Route rule sets a CORS policy: only then do connection managers carry the filter. */
export function meshUsesCors(routes: readonly RouteResource[]): boolean {
  return routes.some((r) => r.spec.http.some((rule) => rule.cors !== undefined));
}

/** The filter, first before the router (preflights are answered before any other filter acts on them). */
export function corsHttpFilter(): Record<string, unknown> {
  return { name: CORS_FILTER_NAME, typed_config: { '@type': typeUrl(EXTENSION_TYPES.cors) } };
}

/** A rule's policy as Envoy's CorsPolicy (typed_per_filter_config value). */
export function corsPolicyConfig(cors: CorsPolicy): Record<string, unknown> {
  const config: Record<string, unknown> = {
    '@type': typeUrl(EXTENSION_TYPES.corsPolicy),
    allow_origin_string_match: cors.allowOrigins.map((o) =>
      o.exact !== undefined
        ? { exact: o.exact }
        : o.prefix !== undefined
          ? { prefix: o.prefix }
          : { safe_regex: { regex: o.regex } },
    ),
  };
  if (cors.allowMethods !== undefined) config['allow_methods'] = cors.allowMethods.join(', ');
  if (cors.allowHeaders !== undefined) config['allow_headers'] = cors.allowHeaders.join(', ');
  if (cors.exposeHeaders !== undefined) config['expose_headers'] = cors.exposeHeaders.join(', ');
  if (cors.maxAge !== undefined) config['max_age'] = String(Math.floor((parseDuration(cors.maxAge) ?? 0) / 1000));
  if (cors.allowCredentials !== undefined) config['allow_credentials'] = { value: cors.allowCredentials };
  return config;
}
