// A TrafficPolicy's filters written in TypeScript as HTTP filters of the service's inbound connection manager: each a
// trellis.filters.v1.TypeScriptFilter carried in an xds.type.v3.TypedStruct (only Trellis sidecars run them).
import { EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import { toStruct } from '../common/struct.ts';
import { parseDuration } from '../resources/duration.ts';
import type { TypeScriptFilterSpec } from '../resources/types.ts';

const DEFAULT_TIMEOUT_MS = 50;

export function typescriptHttpFilters(filters: readonly TypeScriptFilterSpec[]): Record<string, unknown>[] {
  return filters.map((f) => ({
    name: `trellis.filters.typescript.${f.name}`,
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
