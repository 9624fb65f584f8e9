// Shared readers for decoded Envoy objects (decodeAny output): typed field access that fails naming the field path.

export type Obj = Record<string, unknown>;

/** What every decoder returns: the model value, or an error naming the resource and field path. */
export type Decoded<T> = { value: T } | { error: string };

/** Thrown inside decoders with `path: problem`; decodeResource turns it into `{ error }`. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

export function fail(path: string, problem: string): never {
  throw new DecodeError(path === '' ? problem : `${path}: ${problem}`);
}

/** `base.key`, or `key` at the top. */
export function at(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base === '' ? key : `${base}.${key}`;
}

/**
 * Runs a decoder for one resource; a DecodeError becomes `{ error: '<kind> <name>: <path>: <problem>' }`.
 * Anything else thrown is a bug and propagates.
 */
export function decodeResource<T>(kind: string, name: string, decode: () => T): Decoded<T> {
  try {
    return { value: decode() };
  } catch (err) {
    if (err instanceof DecodeError) return { error: `${kind} ${name || '(unnamed)'}: ${err.message}` };
    throw err;
  }
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** An optional message field; undefined when absent. */
export function optObj(v: unknown, path: string): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) fail(path, 'expected an object');
  return v;
}

/** A required message field. */
export function reqObj(v: unknown, path: string): Obj {
  return optObj(v, path) ?? fail(path, 'is required');
}

/** A repeated message field ([] when absent). */
export function objList(v: unknown, path: string): Obj[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(path, 'expected a list');
  return v.map((item, i) => reqObj(item, at(path, i)));
}

/** A repeated string field ([] when absent). */
export function strList(v: unknown, path: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(path, 'expected a list');
  return v.map((item, i) => (typeof item === 'string' ? item : fail(at(path, i), 'expected a string')));
}

export function str(v: unknown, fallback = ''): string {
  return typeof v === 'string' ? v : fallback;
}

/** A scalar number (longs may arrive as strings). */
export function num(v: unknown, path: string, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) fail(path, `expected a number, got ${JSON.stringify(v)}`);
  return n;
}

/** A google.protobuf.UInt32Value / UInt64Value / DoubleValue: { value } (value omitted when 0). */
export function wrappedNum(v: unknown, path: string, fallback: number): number {
  const o = optObj(v, path);
  return o === undefined ? fallback : num(o['value'], at(path, 'value'), 0);
}

/** A google.protobuf.BoolValue: { value } (value omitted when false). */
export function wrappedBool(v: unknown, path: string, fallback: boolean): boolean {
  const o = optObj(v, path);
  return o === undefined ? fallback : o['value'] === true;
}

/** A google.protobuf.Duration in milliseconds; `fallback` when absent. */
export function durationMs(v: unknown, path: string, fallback: number): number {
  const o = optObj(v, path);
  if (o === undefined) return fallback;
  const ms = num(o['seconds'], at(path, 'seconds'), 0) * 1000 + num(o['nanos'], at(path, 'nanos'), 0) / 1e6;
  if (ms < 0) fail(path, 'a duration cannot be negative');
  return ms;
}

/** The message type an Any carries ('envoy.….Type'), from '@type' (known types) or type_url (unknown ones). */
export function anyTypeName(any: Obj): string {
  const url = str(any['@type']) || str(any['type_url']);
  return url.slice(url.lastIndexOf('/') + 1);
}

/** An enum field decoded as its name; `fallback` (the proto default) when absent. */
export function enumName(v: unknown, fallback: string): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? fallback : String(v);
}

/** A port number 1-65535 (0 too when `allowZero`, meaning any free port). */
export function port(v: unknown, path: string, allowZero = false): number {
  const n = num(v, path, 0);
  const min = allowZero ? 0 : 1;
  if (!Number.isInteger(n) || n < min || n > 65535)
    fail(path, `expected a port ${min}-65535, got ${JSON.stringify(v)}`);
  return n;
}

/** google.protobuf.Value as plain JSON (protobufjs names its fields camelCase; snake_case accepted too). */
export function valueToJson(value: unknown): unknown {
  if (!isObj(value)) return null;
  const pick = (camel: string, snake: string): unknown => value[camel] ?? value[snake];
  const s = pick('stringValue', 'string_value');
  if (s !== undefined) return String(s);
  const n = pick('numberValue', 'number_value');
  if (n !== undefined) return Number(n);
  const b = pick('boolValue', 'bool_value');
  if (b !== undefined) return b === true;
  const st = pick('structValue', 'struct_value');
  if (st !== undefined) return structToJson(st);
  const list = pick('listValue', 'list_value');
  if (list !== undefined) {
    const values = isObj(list) ? list['values'] : undefined;
    return Array.isArray(values) ? values.map(valueToJson) : [];
  }
  return null;
}

/** google.protobuf.Struct as a plain JSON object ({} for anything else). */
export function structToJson(struct: unknown): Record<string, unknown> {
  const fields = isObj(struct) ? struct['fields'] : undefined;
  const out: Record<string, unknown> = {};
  if (!isObj(fields)) return out;
  for (const [k, v] of Object.entries(fields)) out[k] = valueToJson(v);
  return out;
}
