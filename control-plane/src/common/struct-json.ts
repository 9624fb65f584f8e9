// Converts a decoded google.protobuf.Struct / Value (protobufjs toObject shape) into plain JSON.

// protobufjs defines struct.proto itself with camelCase fields (stringValue), whatever keepCase says; snake_case
// (string_value) is accepted too, for roots that load the .proto file.

type Obj = Record<string, unknown>;

function asObj(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

/** The value of a Value's `kind` case, under either spelling; undefined when that case is not set. */
function kind(v: Obj, snake: string, camel: string): unknown {
  return v[camel] ?? v[snake];
}

/** A google.protobuf.Value as JSON: null, number, string, boolean, object or array (unset kinds become null). */
export function valueToJson(value: unknown): unknown {
  const v = asObj(value);
  if (!v) return null;
  const s = kind(v, 'string_value', 'stringValue');
  if (s !== undefined) return typeof s === 'string' ? s : String(s);
  const n = kind(v, 'number_value', 'numberValue');
  if (n !== undefined) return Number(n);
  const b = kind(v, 'bool_value', 'boolValue');
  if (b !== undefined) return b === true;
  const struct = kind(v, 'struct_value', 'structValue');
  if (struct !== undefined) return structToJson(struct);
  const list = kind(v, 'list_value', 'listValue');
  if (list !== undefined) {
    const values = asObj(list)?.['values'];
    return Array.isArray(values) ? values.map(valueToJson) : [];
  }
  return null;
}

/**
 * Sets an own property, also for the key `__proto__` (which an assignment would take as the object's prototype: a
 * client's `{"__proto__": {...}}` must stay data, never become what every other key falls back to).
 */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** A google.protobuf.Struct as a JSON object ({} for anything that is not a Struct). */
export function structToJson(struct: unknown): Record<string, unknown> {
  const fields = asObj(asObj(struct)?.['fields']);
  const out: Record<string, unknown> = {};
  if (!fields) return out;
  for (const [key, value] of Object.entries(fields)) setOwn(out, key, valueToJson(value));
  return out;
}
