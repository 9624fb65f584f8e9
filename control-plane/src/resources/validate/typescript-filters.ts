// Validates a TrafficPolicy's filters written in TypeScript: names, sizes, budgets, and the module itself, compiled
// and started the way the sidecars will (a syntax error names its line, a missing export says so).
import { FilterSandbox } from '@trellis/filter-api';
import { parseDuration } from '../duration.ts';
import { field, type Issues } from './issues.ts';

/** What the sidecar accepts (sidecar/src/config/decode-typescript-filter.ts). */
export const MAX_FILTER_SOURCE_BYTES = 256 * 1024;
export const MAX_FILTER_TIMEOUT_MS = 1000;
const MAX_CONFIG_BYTES = 64 * 1024;

export function validateTypeScriptFilters(value: unknown, path: string, issues: Issues): void {
  const list = issues.list(value, path, 'filters ({name, source, config, timeout})', true);
  const names = new Set<unknown>();
  list?.forEach((item, i) => {
    const at = field(path, i);
    const f = issues.object(item, at, ['name', 'source', 'config', 'timeout']);
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
    if (config !== undefined) {
      if (typeof config !== 'object' || config === null || Array.isArray(config))
        issues.expected(field(at, 'config'), 'a mapping (JSON object)', config);
      else if (Buffer.byteLength(JSON.stringify(config)) > MAX_CONFIG_BYTES)
        issues.add(field(at, 'config'), `is over ${MAX_CONFIG_BYTES} bytes of JSON`);
    }
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
