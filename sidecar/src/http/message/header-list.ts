// A header list as a flat array [name, value, name, value, …] with lower-case names: cheap to build and to hand to undici / writeHead.
import type { HeaderOps } from '../../config/model.ts';
import { type HeaderValueSource, renderHeaderValue } from './header-value-format.ts';

export type HeaderList = string[];

/** The value of a header, several values joined with ', ' ('; ' for cookie); undefined when absent. */
export function headerGet(list: HeaderList, name: string): string | undefined {
  let out: string | undefined;
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] === name) {
      const v = list[i + 1] as string;
      out = out === undefined ? v : out + (name === 'cookie' ? '; ' : ', ') + v;
    }
  }
  return out;
}

export function headerHas(list: HeaderList, name: string): boolean {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return true;
  return false;
}

/** Removes every occurrence of a header in place. */
export function headerRemove(list: HeaderList, name: string): void {
  let w = 0;
  for (let r = 0; r < list.length; r += 2) {
    if (list[r] === name) continue;
    if (w !== r) {
      list[w] = list[r] as string;
      list[w + 1] = list[r + 1] as string;
    }
    w += 2;
  }
  list.length = w;
}

/** Removes every header whose name starts with a prefix (e.g. 'x-trellis-'). */
export function headerRemovePrefix(list: HeaderList, prefix: string): void {
  let w = 0;
  for (let r = 0; r < list.length; r += 2) {
    if ((list[r] as string).startsWith(prefix)) continue;
    if (w !== r) {
      list[w] = list[r] as string;
      list[w + 1] = list[r + 1] as string;
    }
    w += 2;
  }
  list.length = w;
}

/** Replaces all values of a header with one value (appended at the end when absent). */
export function headerSet(list: HeaderList, name: string, value: string): void {
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] === name) {
      list[i + 1] = value;
      for (let j = i + 2; j < list.length; j += 2) {
        if (list[j] === name) {
          headerRemoveFrom(list, name, j);
          break;
        }
      }
      return;
    }
  }
  list.push(name, value);
}

function headerRemoveFrom(list: HeaderList, name: string, start: number): void {
  let w = start;
  for (let r = start; r < list.length; r += 2) {
    if (list[r] === name) continue;
    list[w] = list[r] as string;
    list[w + 1] = list[r + 1] as string;
    w += 2;
  }
  list.length = w;
}

/**
 * Applies one level of Envoy header mutations (names already lower-case): removals first, then additions in order.
 * Values with command operators are rendered from `source` (request headers); one that renders empty is not added,
 * as in Envoy.
 */
export function applyHeaderOps(list: HeaderList, ops: HeaderOps, source?: HeaderValueSource): void {
  for (const name of ops.remove) headerRemove(list, name);
  for (const op of ops.add) {
    const value = op.format === undefined ? op.value : renderHeaderValue(op.format, source);
    if (value === '' && op.format !== undefined) continue;
    if (op.action === 'append') list.push(op.name, value);
    else if (op.action === 'overwrite') headerSet(list, op.name, value);
    else if (!headerHas(list, op.name)) list.push(op.name, value);
  }
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\0\r\n]/;

/**
 * The same mutations with lower-case names (done once per config so requests never lower-case them). Mutations that
 * could not be written on the wire (a name that is not a token, a value with CR, LF or NUL) are dropped here rather
 * than split a request head later; the decoder is expected to have refused them already.
 */
export function normalizeHeaderOps(ops: HeaderOps): HeaderOps {
  return {
    add: ops.add
      .filter((op) => TOKEN.test(op.name) && !BAD_VALUE.test(op.value))
      .map((op) => ({ ...op, name: op.name.toLowerCase() })),
    remove: ops.remove.map((name) => name.toLowerCase()),
  };
}

/** A value that can go on an HTTP/1.1 line as is (no CR, LF, NUL, and for targets no spaces). */
export function isWireSafe(value: string, allowSpaces: boolean): boolean {
  return !BAD_VALUE.test(value) && (allowSpaces || value.indexOf(' ') < 0);
}

export function isEmptyHeaderOps(ops: HeaderOps): boolean {
  return ops.add.length === 0 && ops.remove.length === 0;
}

/** Copies a node-style header object (values string | string[] | number) into a list, lower-casing names. */
export function headerListFromObject(
  obj: Readonly<Record<string, string | string[] | number | undefined>>,
  skipPseudo: boolean,
): HeaderList {
  const list: HeaderList = [];
  for (const key in obj) {
    if (skipPseudo && key.charCodeAt(0) === 58 /* : */) continue;
    const v = obj[key];
    if (v === undefined) continue;
    const name = key.toLowerCase();
    if (typeof v === 'string') list.push(name, v);
    else if (typeof v === 'number') list.push(name, String(v));
    else for (const item of v) list.push(name, item);
  }
  return list;
}

/** Folds a list into an object for node:http2 (repeated names become arrays). */
export function headerListToObject(list: HeaderList, into: Record<string, string | string[]>): void {
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i] as string;
    const value = list[i + 1] as string;
    const prev = into[name];
    if (prev === undefined) into[name] = value;
    else if (typeof prev === 'string') into[name] = [prev, value];
    else prev.push(value);
  }
}
