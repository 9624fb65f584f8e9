// google.protobuf.Struct ⇄ plain JSON, in the object shape @grpc/proto-loader uses (oneof `kind` + camelCase fields).
import { setOwn } from './struct-json.ts';

export interface ValueMessage {
  nullValue?: 'NULL_VALUE' | 0;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: StructMessage;
  listValue?: { values?: ValueMessage[] };
  /** Which field of the oneof is set (proto-loader `oneofs: true`). */
  kind?: string;
}

export interface StructMessage {
  fields?: Record<string, ValueMessage>;
}

export function toValue(json: unknown): ValueMessage {
  if (json === null || json === undefined) return { nullValue: 'NULL_VALUE' };
  switch (typeof json) {
    case 'number':
      return { numberValue: json };
    case 'string':
      return { stringValue: json };
    case 'boolean':
      return { boolValue: json };
    case 'object':
      if (Array.isArray(json)) return { listValue: { values: json.map(toValue) } };
      return { structValue: toStruct(json as Record<string, unknown>) };
    default:
      throw new TypeError(`cannot encode a ${typeof json} in a google.protobuf.Value`);
  }
}

/** Encodes a JSON object; keys whose value is undefined are left out. */
export function toStruct(json: Record<string, unknown>): StructMessage {
  const fields: Record<string, ValueMessage> = {};
  for (const [key, value] of Object.entries(json)) {
    if (value !== undefined) setOwn(fields, key, toValue(value));
  }
  return { fields };
}

export function fromValue(value: ValueMessage | null | undefined): unknown {
  if (!value) return null;
  const kind = value.kind ?? Object.keys(value).find((k) => k.endsWith('Value'));
  switch (kind) {
    case 'numberValue':
      return value.numberValue ?? 0;
    case 'stringValue':
      return value.stringValue ?? '';
    case 'boolValue':
      return value.boolValue ?? false;
    case 'structValue':
      return fromStruct(value.structValue);
    case 'listValue':
      return (value.listValue?.values ?? []).map(fromValue);
    default:
      return null;
  }
}

/** Decodes a Struct into a plain object (an absent Struct is {}). */
export function fromStruct(struct: StructMessage | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) setOwn(out, key, fromValue(value));
  return out;
}
