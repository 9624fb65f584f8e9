// Converts a decoded google.protobuf.Struct / Value (protobufjs toObject shape, snake_case) into plain JSON.

type Obj = Record<string, unknown>;

function asObj(v: unknown): Obj | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

/** A google.protobuf.Value as JSON: null, number, string, boolean, object or array (unset kinds become null). */
export function valueToJson(value: unknown): unknown {
  const v = asObj(value);
  if (!v) return null;
  if ('string_value' in v) return typeof v['string_value'] === 'string' ? v['string_value'] : '';
  if ('number_value' in v) return Number(v['number_value']);
  if ('bool_value' in v) return v['bool_value'] === true;
  if ('struct_value' in v) return structToJson(v['struct_value']);
  if ('list_value' in v) {
    const values = asObj(v['list_value'])?.['values'];
    return Array.isArray(values) ? values.map(valueToJson) : [];
  }
  return null;
}

/** A google.protobuf.Struct as a JSON object ({} for anything that is not a Struct). */
export function structToJson(struct: unknown): Record<string, unknown> {
  const fields = asObj(asObj(struct)?.['fields']);
  const out: Record<string, unknown> = {};
  if (!fields) return out;
  for (const [key, value] of Object.entries(fields)) out[key] = valueToJson(value);
  return out;
}
