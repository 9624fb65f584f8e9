// Strict shape check of a plain resource object against its proto type: unknown fields and wrong kinds name their path.
import type protobuf from 'protobufjs';
import { lookupType } from './root.ts';

const SCALAR_KINDS: Record<string, 'number' | 'string' | 'boolean' | 'bytes'> = {
  double: 'number',
  float: 'number',
  int32: 'number',
  uint32: 'number',
  sint32: 'number',
  fixed32: 'number',
  sfixed32: 'number',
  int64: 'number',
  uint64: 'number',
  sint64: 'number',
  fixed64: 'number',
  sfixed64: 'number',
  bool: 'boolean',
  string: 'string',
  bytes: 'bytes',
};

const INTEGER_STRING = /^-?\d+$/;

/** What the check needs of one field, computed once per field (protobufjs rebuilds names on every `fullName` read). */
type FieldShape = { map: boolean; repeated: boolean } & (
  | { kind: 'enum'; names: ReadonlySet<string>; numbers: ReadonlySet<number>; list: string }
  | { kind: 'message'; type: protobuf.Type }
  | { kind: 'number' | 'string' | 'boolean' | 'bytes' | 'unknown' }
);

/** What the check needs of one message type. */
interface TypeShape {
  /** Fully qualified name without the leading dot. */
  name: string;
  isAny: boolean;
  /** Struct and Value: free-form JSON, not checked. */
  opaque: boolean;
  fields: ReadonlyMap<string, FieldShape>;
}

const typeShapes = new WeakMap<protobuf.Type, TypeShape>();

function fieldShape(field: protobuf.Field): FieldShape {
  field.resolve();
  const base = { map: field.map, repeated: field.repeated };
  const resolved = field.resolvedType;
  if (resolved && 'values' in resolved) {
    const values = (resolved as protobuf.Enum).values;
    return {
      ...base,
      kind: 'enum',
      names: new Set(Object.keys(values)),
      numbers: new Set(Object.values(values)),
      list: Object.keys(values).join('|'),
    };
  }
  if (resolved) return { ...base, kind: 'message', type: resolved as protobuf.Type };
  return { ...base, kind: SCALAR_KINDS[field.type] ?? 'unknown' };
}

function shapeOf(type: protobuf.Type): TypeShape {
  let shape = typeShapes.get(type);
  if (!shape) {
    const fullName = type.fullName;
    const fields = new Map<string, FieldShape>();
    for (const [key, field] of Object.entries(type.fields)) fields.set(key, fieldShape(field));
    shape = {
      name: fullName.slice(1),
      isAny: fullName === '.google.protobuf.Any',
      opaque: fullName === '.google.protobuf.Struct' || fullName === '.google.protobuf.Value',
      fields,
    };
    typeShapes.set(type, shape);
  }
  return shape;
}

/** Types named by an Any's '@type' URL, resolved once per URL (undefined: unknown type). */
const anyTargets = new Map<string, protobuf.Type | undefined>();

function anyTarget(url: string): protobuf.Type | undefined {
  if (anyTargets.has(url)) return anyTargets.get(url);
  let target: protobuf.Type | undefined;
  try {
    target = lookupType(url.slice(url.lastIndexOf('/') + 1));
  } catch {
    target = undefined;
  }
  if (anyTargets.size < 10_000) anyTargets.set(url, target);
  return target;
}

function checkValue(field: FieldShape, value: unknown, path: string): string | undefined {
  switch (field.kind) {
    case 'enum': {
      const ok = typeof value === 'number' ? field.numbers.has(value) : field.names.has(String(value));
      return ok ? undefined : `${path}: expected one of ${field.list}, got ${JSON.stringify(value)}`;
    }
    case 'message':
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${path}: expected an object`;
      return checkMessage(field.type, value as Record<string, unknown>, path);
    case 'number': {
      const ok = typeof value === 'number' || (typeof value === 'string' && INTEGER_STRING.test(value));
      return ok ? undefined : `${path}: expected a number, got ${JSON.stringify(value)}`;
    }
    case 'bytes':
      return typeof value === 'string' || value instanceof Uint8Array ? undefined : `${path}: expected bytes`;
    case 'unknown':
      return `${path}: expected a undefined, got ${JSON.stringify(value)}`;
    default:
      return typeof value === field.kind
        ? undefined
        : `${path}: expected a ${field.kind}, got ${JSON.stringify(value)}`;
  }
}

function checkMessage(type: protobuf.Type, obj: Record<string, unknown>, path: string): string | undefined {
  let shape = shapeOf(type);
  let isAny = false;
  if (shape.isAny) {
    const url = obj['@type'];
    if (typeof url !== 'string') return `${path}: an Any needs '@type'`;
    const target = anyTarget(url);
    if (!target) return `${path}['@type']: unknown type ${url}`;
    shape = shapeOf(target);
    isAny = true;
  }
  if (shape.opaque) return undefined;
  for (const key in obj) {
    if (!Object.hasOwn(obj, key) || (isAny && key === '@type')) continue;
    const value = obj[key];
    if (value === undefined) continue;
    const field = shape.fields.get(key);
    const p = path ? `${path}.${key}` : key;
    if (!field) return `${p}: no such field in ${shape.name}`;
    if (field.map) {
      if (typeof value !== 'object' || value === null) return `${p}: expected a map`;
      for (const [k, v] of Object.entries(value)) {
        const err = checkValue(field, v, `${p}[${JSON.stringify(k)}]`);
        if (err) return err;
      }
    } else if (field.repeated) {
      if (!Array.isArray(value)) return `${p}: expected a list`;
      for (let i = 0; i < value.length; i++) {
        const err = checkValue(field, value[i], `${p}[${i}]`);
        if (err) return err;
      }
    } else {
      const err = checkValue(field, value, p);
      if (err) return err;
    }
  }
  return undefined;
}

/** Returns a message naming the first field of `object` that does not fit `typeName`, or undefined when it fits. */
export function checkShape(typeName: string, object: Record<string, unknown>): string | undefined {
  return checkMessage(lookupType(typeName), object, '');
}

/** checkShape for a type already looked up. */
export function checkShapeOf(type: protobuf.Type, object: Record<string, unknown>): string | undefined {
  return checkMessage(type, object, '');
}

/** A type's fully qualified name without the leading dot, computed once per type. */
export function typeNameOf(type: protobuf.Type): string {
  return shapeOf(type).name;
}
