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

function checkValue(field: protobuf.Field, value: unknown, path: string): string | undefined {
  const resolved = field.resolvedType;
  if (resolved && 'values' in resolved) {
    const e = resolved as protobuf.Enum;
    if (typeof value === 'number' ? !Object.values(e.values).includes(value) : !(String(value) in e.values)) {
      return `${path}: expected one of ${Object.keys(e.values).join('|')}, got ${JSON.stringify(value)}`;
    }
    return undefined;
  }
  if (resolved) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${path}: expected an object`;
    return checkMessage(resolved as protobuf.Type, value as Record<string, unknown>, path);
  }
  const kind = SCALAR_KINDS[field.type];
  if (kind === 'number') {
    const ok = typeof value === 'number' || (typeof value === 'string' && /^-?\d+$/.test(value));
    return ok ? undefined : `${path}: expected a number, got ${JSON.stringify(value)}`;
  }
  if (kind === 'bytes')
    return typeof value === 'string' || value instanceof Uint8Array ? undefined : `${path}: expected bytes`;
  return typeof value === kind ? undefined : `${path}: expected a ${kind}, got ${JSON.stringify(value)}`;
}

function checkMessage(type: protobuf.Type, obj: Record<string, unknown>, path: string): string | undefined {
  let fields = obj;
  let target = type;
  if (type.fullName === '.google.protobuf.Any') {
    const url = obj['@type'];
    if (typeof url !== 'string') return `${path}: an Any needs '@type'`;
    try {
      target = lookupType(url.slice(url.lastIndexOf('/') + 1));
    } catch {
      return `${path}['@type']: unknown type ${url}`;
    }
    const { '@type': _t, ...rest } = obj;
    fields = rest;
  }
  if (target.fullName === '.google.protobuf.Struct' || target.fullName === '.google.protobuf.Value') return undefined;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const field = target.fields[key];
    const p = path ? `${path}.${key}` : key;
    if (!field) return `${p}: no such field in ${target.fullName.slice(1)}`;
    field.resolve();
    if (field.map) {
      if (typeof value !== 'object' || value === null) return `${p}: expected a map`;
      for (const [k, v] of Object.entries(value)) {
        const err = checkValue(field, v, `${p}[${JSON.stringify(k)}]`);
        if (err) return err;
      }
    } else if (field.repeated) {
      if (!Array.isArray(value)) return `${p}: expected a list`;
      for (const [i, v] of value.entries()) {
        const err = checkValue(field, v, `${p}[${i}]`);
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
