// Encodes resource objects (Envoy JSON shape, snake_case, '@type' for Any) into protobuf Any and decodes them back.
import type protobuf from 'protobufjs';
import { checkShapeOf, typeNameOf } from './check.ts';
import { lookupType } from './root.ts';

/** google.protobuf.Any as grpc carries it. */
export interface AnyMessage {
  type_url: string;
  value: Uint8Array;
}

const typeCache = new Map<string, protobuf.Type>();

function typeFor(typeUrl: string): protobuf.Type {
  let t = typeCache.get(typeUrl);
  if (!t) {
    t = lookupType(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
    typeCache.set(typeUrl, t);
  }
  return t;
}

/**
 * Encodes a plain resource object as the message named by typeUrl. Nested Any fields are written
 * as objects with an '@type' key. Throws with the offending field when the object does not fit the schema.
 */
export function encodeResource(typeUrl: string, object: Record<string, unknown>): Uint8Array {
  const type = typeFor(typeUrl);
  const err = checkShapeOf(type, object);
  if (err) throw new Error(`${typeNameOf(type)}: ${err}`);
  return type.encode(type.fromObject(object)).finish();
}

/** An Any carrying a resource object. */
export function anyOf(typeUrl: string, object: Record<string, unknown>): AnyMessage {
  return { type_url: typeUrl, value: encodeResource(typeUrl, object) };
}

/** Decodes an Any into a plain object (snake_case, enums as strings, longs as numbers, nested Any expanded with '@type'). */
export function decodeAny(any: AnyMessage): Record<string, unknown> {
  const type = typeFor(any.type_url);
  const msg = type.decode(any.value);
  return type.toObject(msg, { enums: String, longs: Number, defaults: false, json: true }) as Record<string, unknown>;
}
