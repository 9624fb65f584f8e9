// A TrafficPolicy's filters written in TypeScript as HTTP filters of the service's inbound connection manager: each a
// trellis.filters.v1.TypeScriptFilter carried in an xds.type.v3.TypedStruct (only Trellis sidecars run them); their
// overrides as inbound routes carrying a TypeScriptFilterPerRoute in typed_per_filter_config.
import { EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import { toStruct } from '../common/struct.ts';
import { parseDuration } from '../resources/duration.ts';
import type { TypeScriptFilterSpec } from '../resources/types.ts';
import { routeMatch } from './matches.ts';

const DEFAULT_TIMEOUT_MS = 50;

/** The HTTP filter name of a policy's filter (the key its route overrides use). */
function filterName(f: TypeScriptFilterSpec): string {
  return `trellis.filters.typescript.${f.name}`;
}

export function typescriptHttpFilters(filters: readonly TypeScriptFilterSpec[]): Record<string, unknown>[] {
  return filters.map((f) => ({
    name: filterName(f),
    typed_config: {
      '@type': typeUrl(EXTENSION_TYPES.typedStruct),
      type_url: typeUrl(EXTENSION_TYPES.typescriptFilter),
      value: toStruct({
        name: f.name,
        source: f.source,
        config: f.config ?? null,
        timeout_ms:
          f.timeout === undefined ? DEFAULT_TIMEOUT_MS : Math.round(parseDuration(f.timeout) ?? DEFAULT_TIMEOUT_MS),
      }),
    },
  }));
}

/**
 * The inbound routes the filters' overrides need, before the service's catch-all route: one per distinct match, in the
 * order filters and their overrides are listed, each with the same action as the catch-all (`action`) and the
 * per-route config of every filter overriding that same match. A request takes the first route it matches (Envoy's
 * rule): where two filters' different matches overlap, the earlier one's route wins.
 */
export function typescriptOverrideRoutes(
  filters: readonly TypeScriptFilterSpec[],
  action: Record<string, unknown>,
): Record<string, unknown>[] {
  const routes = new Map<string, { match: Record<string, unknown>; perFilter: Record<string, unknown> }>();
  for (const f of filters) {
    for (const o of f.overrides ?? []) {
      const m = routeMatch(o.match, 'sidecar');
      if ('skip' in m) continue;
      const key = JSON.stringify(m.match);
      let route = routes.get(key);
      if (route === undefined) {
        route = { match: m.match, perFilter: {} };
        routes.set(key, route);
      }
      // The first override of a filter for a match is the one that counts.
      route.perFilter[filterName(f)] ??= {
        '@type': typeUrl(EXTENSION_TYPES.typedStruct),
        type_url: typeUrl(EXTENSION_TYPES.typescriptFilterPerRoute),
        value: toStruct(o.disabled === true ? { disabled: true } : { config: o.config ?? null }),
      };
    }
  }
  return [...routes.values()].map((r, i) => ({
    name: `filter-override-${i}`,
    match: r.match,
    route: action,
    typed_per_filter_config: r.perFilter,
  }));
}
