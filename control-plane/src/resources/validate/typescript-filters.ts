// Validates a TrafficPolicy's filters written in TypeScript: names, sizes, budgets, and the module itself, compiled
// and started the way the sidecars will (a syntax error names its line, a missing export says so).
import { FilterSandbox } from '@trellis/filter-api';
import { parseDuration } from '../duration.ts';
import { field, type Issues } from './issues.ts';
import { validateMatch } from './route.ts';

/** What the sidecar accepts (sidecar/src/config/decode-typescript-filter.ts). */
export const MAX_FILTER_SOURCE_BYTES = 256 * 1024;
export const MAX_FILTER_TIMEOUT_MS = 1000;
const MAX_CONFIG_BYTES = 64 * 1024;
/** Overrides of one filter at most (each is a route of the service's inbound RouteConfiguration). */
export const MAX_FILTER_OVERRIDES = 32;

function validateConfig(config: unknown, path: string, issues: Issues): void {
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    issues.expected(path, 'a mapping (JSON object)', config);
  else if (Buffer.byteLength(JSON.stringify(config)) > MAX_CONFIG_BYTES)
    issues.add(path, `is over ${MAX_CONFIG_BYTES} bytes of JSON`);
}

function validateOverrides(value: unknown, path: string, issues: Issues): void {
  const list = issues.list(value, path, 'overrides ({match, disabled | config})', true);
  if (list === undefined) return;
  if (list.length > MAX_FILTER_OVERRIDES)
    issues.add(path, `has ${list.length} entries, at most ${MAX_FILTER_OVERRIDES}`);
  list.forEach((item, i) => {
    const at = field(path, i);
    const o = issues.object(item, at, ['match', 'disabled', 'config']);
    if (!o) return;
    if (issues.required(o, at, 'match', 'a request match ({pathPrefix|pathExact|pathRegex, headers, …})')) {
      validateMatch(o['match'], field(at, 'match'), issues);
      const query = (o['match'] as { queryParams?: unknown } | null)?.queryParams;
      if (query !== null && typeof query === 'object') {
        for (const [name, m] of Object.entries(query)) {
          const sm = m as Record<string, unknown> | null;
          if (
            sm?.['present'] === false &&
            sm['exact'] === undefined &&
            sm['prefix'] === undefined &&
            sm['regex'] === undefined
          )
            issues.add(
              field(field(field(at, 'match'), 'queryParams'), name),
              'an absent query parameter cannot be matched (Envoy has no such matcher)',
            );
        }
      }
    }
    if (o['disabled'] !== undefined && issues.boolean(o['disabled'], field(at, 'disabled')) && o['disabled'] === false)
      issues.add(field(at, 'disabled'), 'only `disabled: true` means something (leave it out otherwise)');
    if (o['config'] !== undefined) validateConfig(o['config'], field(at, 'config'), issues);
    const disabled = o['disabled'] === true;
    const configured = o['config'] !== undefined;
    if (disabled === configured && o['disabled'] !== false)
      issues.add(at, 'needs exactly one of `disabled: true` (the filter is off there) or `config` (its config there)');
  });
}

export function validateTypeScriptFilters(value: unknown, path: string, issues: Issues): void {
  const list = issues.list(value, path, 'filters ({name, source, config, timeout, overrides})', true);
  const names = new Set<unknown>();
  list?.forEach((item, i) => {
    const at = field(path, i);
    const f = issues.object(item, at, ['name', 'source', 'config', 'timeout', 'overrides']);
    if (!f) return;
    const nameOk = issues.required(f, at, 'name', 'a DNS-1123 label') && issues.dnsLabel(f['name'], field(at, 'name'));
    if (nameOk && names.has(f['name'])) issues.add(field(at, 'name'), `duplicate filter name ${String(f['name'])}`);
    names.add(f['name']);
    let timeoutMs: number | undefined;
    if (f['timeout'] !== undefined) {
      const ms = typeof f['timeout'] === 'string' ? parseDuration(f['timeout']) : undefined;
      if (ms === undefined || ms < 1 || ms > MAX_FILTER_TIMEOUT_MS)
        issues.expected(
          field(at, 'timeout'),
          `a duration from 1ms to ${MAX_FILTER_TIMEOUT_MS}ms such as "50ms"`,
          f['timeout'],
        );
      else timeoutMs = Math.round(ms);
    }
    const config = f['config'];
    if (config !== undefined) validateConfig(config, field(at, 'config'), issues);
    if (f['overrides'] !== undefined) validateOverrides(f['overrides'], field(at, 'overrides'), issues);
    if (!issues.required(f, at, 'source', 'a TypeScript module exporting the filter by default')) return;
    const source = f['source'];
    if (!issues.string(source, field(at, 'source'))) return;
    if (Buffer.byteLength(source) > MAX_FILTER_SOURCE_BYTES) {
      issues.add(field(at, 'source'), `is over ${MAX_FILTER_SOURCE_BYTES} bytes`);
      return;
    }
    try {
      FilterSandbox.compile(nameOk ? String(f['name']) : `filters[${i}]`, source, config ?? null, timeoutMs);
    } catch (err) {
      issues.add(field(at, 'source'), (err as Error).message);
    }
  });
}
