// Decodes a filter written in TypeScript (`trellis.filters.v1.TypeScriptFilter`, carried in an xds.type.v3.TypedStruct)
// and compiles it once, so a module that does not compile or start is a NACK naming what is wrong.
import { DEFAULT_TIMEOUT_MS, FilterSandbox } from '@trellis/filter-api';
import { at, fail, num, type Obj, str } from './decode-values.ts';
import type { TypeScriptFilterConfig } from './model.ts';

/** The largest module source accepted (it is compiled in every sidecar that runs it). */
export const MAX_SOURCE_BYTES = 256 * 1024;
/** The longest budget one hook call may have: a filter is on the request path. */
export const MAX_TIMEOUT_MS = 1000;

/** `value` is the TypedStruct's Struct as plain JSON. */
export function typescriptFilterConfig(value: Obj, path: string): TypeScriptFilterConfig {
  const name = str(value['name']);
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name))
    fail(at(path, 'name'), `expected a DNS-1123 label, got ${JSON.stringify(value['name'])}`);
  const source = str(value['source']);
  if (source === '') fail(at(path, 'source'), 'is required');
  if (Buffer.byteLength(source) > MAX_SOURCE_BYTES) fail(at(path, 'source'), `is over ${MAX_SOURCE_BYTES} bytes`);
  const timeoutMs = num(value['timeout_ms'], at(path, 'timeout_ms'), DEFAULT_TIMEOUT_MS);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS)
    fail(at(path, 'timeout_ms'), `expected 1-${MAX_TIMEOUT_MS}, got ${timeoutMs}`);
  const config = value['config'] ?? null;
  let sandbox: FilterSandbox;
  try {
    sandbox = FilterSandbox.compile(name, source, config, timeoutMs);
  } catch (err) {
    return fail(at(path, 'source'), (err as Error).message);
  }
  const decoded: TypeScriptFilterConfig = { name, source, config, timeoutMs };
  compiled.set(decoded, sandbox);
  return decoded;
}

/** Sandboxes compiled while decoding, by the config they came from: the filter takes it instead of compiling again. */
const compiled = new WeakMap<TypeScriptFilterConfig, FilterSandbox>();

/** The sandbox compiled for a decoded config (once: a second call compiles afresh). */
export function takeCompiledFilter(config: TypeScriptFilterConfig): FilterSandbox | undefined {
  const sandbox = compiled.get(config);
  compiled.delete(config);
  return sandbox;
}
