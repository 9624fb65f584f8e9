// Collects validation errors for one document, each naming the document, the field path and what was expected.
import { compileRe2, type Re2 } from '@trellis/re2';
import { parseDuration } from '../duration.ts';

/** Field paths as users read them: `spec.http[0].route[1].weight`. */
export function field(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** A short description of a value for "got …" in messages. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') {
    const text = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return JSON.stringify(text);
  }
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The largest uint32 (Envoy's UInt32Value fields). */
export const UINT32_MAX = 4_294_967_295;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDnsLabel(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 63 && DNS_LABEL.test(value);
}

export class Issues {
  readonly errors: string[] = [];
  where: string;

  constructor(where: string) {
    this.where = where;
  }

  /** Records `WHERE: PATH: MESSAGE`. */
  add(path: string, message: string): void {
    this.errors.push(path === '' ? `${this.where}: ${message}` : `${this.where}: ${path}: ${message}`);
  }

  /** Records `WHERE: PATH: expected EXPECTED, got VALUE`. */
  expected(path: string, expected: string, got: unknown): void {
    this.add(path, `expected ${expected}, got ${describe(got)}`);
  }

  /** A mapping whose keys are all in `allowed` (unknown keys are reported); undefined when not a mapping. */
  object(value: unknown, path: string, allowed: readonly string[]): Record<string, unknown> | undefined {
    if (!isRecord(value)) {
      this.expected(path, 'a mapping', value);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.add(field(path, key), `unknown field, expected one of ${allowed.join('|')}`);
    }
    return value;
  }

  /** Reports a missing required field; returns whether it is present. */
  required(obj: Record<string, unknown>, path: string, key: string, what: string): boolean {
    if (obj[key] !== undefined) return true;
    this.add(field(path, key), `required, expected ${what}`);
    return false;
  }

  /** A list (optionally non-empty); undefined when not a list. */
  list(value: unknown, path: string, what: string, nonEmpty = false): unknown[] | undefined {
    if (!Array.isArray(value) || (nonEmpty && value.length === 0)) {
      this.expected(path, nonEmpty ? `a non-empty list of ${what}` : `a list of ${what}`, value);
      return undefined;
    }
    return value;
  }

  string(value: unknown, path: string, nonEmpty = true): value is string {
    if (typeof value === 'string' && (!nonEmpty || value.length > 0)) return true;
    this.expected(path, nonEmpty ? 'a non-empty string' : 'a string', value);
    return false;
  }

  boolean(value: unknown, path: string): value is boolean {
    if (typeof value === 'boolean') return true;
    this.expected(path, 'true or false', value);
    return false;
  }

  /** An integer in [min, max] (max optional). */
  integer(value: unknown, path: string, min: number, max?: number): value is number {
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && (max === undefined || value <= max)) {
      return true;
    }
    this.expected(path, max === undefined ? `an integer >= ${min}` : `an integer from ${min} to ${max}`, value);
    return false;
  }

  /** A number (decimals allowed) in [min, max]. */
  number(value: unknown, path: string, min: number, max: number): value is number {
    if (typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max) return true;
    this.expected(path, `a number from ${min} to ${max}`, value);
    return false;
  }

  dnsLabel(value: unknown, path: string): value is string {
    if (isDnsLabel(value)) return true;
    this.expected(path, 'a DNS-1123 label (lowercase letters, digits and "-", at most 63 characters)', value);
    return false;
  }

  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): value is T {
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return true;
    this.expected(path, `one of ${allowed.join('|')}`, value);
    return false;
  }

  /** A duration such as "2s" or "500ms"; `positive` rejects zero. */
  duration(value: unknown, path: string, positive = false): boolean {
    const ms = typeof value === 'string' ? parseDuration(value) : undefined;
    if (ms !== undefined && (!positive || ms > 0)) return true;
    this.expected(
      path,
      positive ? 'a duration > 0 such as "5s" or "500ms"' : 'a duration such as "2s" or "500ms"',
      value,
    );
    return false;
  }

  /** A mapping of non-empty string keys to string values (labels). */
  stringMap(value: unknown, path: string, nonEmpty = false): value is Record<string, string> {
    if (!isRecord(value) || (nonEmpty && Object.keys(value).length === 0)) {
      this.expected(path, nonEmpty ? 'a non-empty mapping of strings' : 'a mapping of strings', value);
      return false;
    }
    let ok = true;
    for (const [key, v] of Object.entries(value)) {
      if (key.length === 0) {
        this.add(path, 'keys must be non-empty');
        ok = false;
      } else if (typeof v !== 'string') {
        this.expected(field(path, key), 'a string', v);
        ok = false;
      }
    }
    return ok;
  }

  /**
   * An RE2 regular expression, checked by the same code the sidecar runs (so what passes here is never NACKed for
   * its syntax); undefined when refused.
   */
  regex(value: unknown, path: string): Re2 | undefined {
    if (!this.string(value, path)) return undefined;
    const compiled = compileRe2(value);
    if ('error' in compiled) {
      this.add(path, `expected an RE2 regular expression, got ${describe(value)}: ${compiled.error}`);
      return undefined;
    }
    return compiled.regex;
  }

  /** Reports the keys of `obj` among `keys` when more than one is set. */
  atMostOne(obj: Record<string, unknown>, path: string, keys: readonly string[]): void {
    const set = keys.filter((k) => obj[k] !== undefined);
    if (set.length > 1) this.add(path, `expected at most one of ${keys.join('|')}, got ${set.join(' and ')}`);
  }

  /** Reports unless exactly one of `keys` is set in `obj`. */
  exactlyOne(obj: Record<string, unknown>, path: string, keys: readonly string[]): void {
    const set = keys.filter((k) => obj[k] !== undefined);
    if (set.length !== 1) {
      this.add(path, `expected exactly one of ${keys.join('|')}, got ${set.length === 0 ? 'none' : set.join(' and ')}`);
    }
  }
}
