// Small builders for protobuf well-known values as @trellis/xds-protos encodes them (wrappers, Struct, Duration, ADS).
import { type DurationObject, duration } from '@trellis/xds-protos';
import { parseDuration } from '../resources/duration.ts';

/** google.protobuf.UInt32Value / UInt64Value. */
export function u32(value: number): { value: number } {
  return { value };
}

/**
 * google.protobuf.Struct for flat string/number/bool values. @trellis/xds-protos loads Struct from protobufjs's
 * built-in definition, whose Value fields are camelCase (stringValue, numberValue, boolValue).
 */
export function struct(values: Readonly<Record<string, string | number | boolean | undefined>>): {
  fields: Record<string, Record<string, string | number | boolean>>;
} {
  const fields: Record<string, Record<string, string | number | boolean>> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    if (typeof v === 'string') fields[k] = { stringValue: v };
    else if (typeof v === 'number') fields[k] = { numberValue: v };
    else fields[k] = { boolValue: v };
  }
  return { fields };
}

/** A ConfigSource that says "over the same ADS stream". */
export function adsConfigSource(): { ads: Record<string, never>; resource_api_version: 'V3' } {
  return { ads: {}, resource_api_version: 'V3' };
}

/** A Duration for an operator duration string; undefined when absent or not a duration. */
export function durationOf(text: string | undefined): DurationObject | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  return ms === undefined ? undefined : duration(ms);
}

/** Copies an object without its undefined properties (keeps emitted resources free of holes). */
export function compact<T extends Record<string, unknown>>(obj: T): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out;
}
