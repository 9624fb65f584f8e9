// Envoy's HCM path preparation before route matching: path_with_escaped_slashes_action, normalize_path (RFC 3986
// §6.2.2 percent-encoding normalization, §5.2.4 dot-segment removal, `\` read as `/`) and merge_slashes, in that order.
import type { PathNormalization } from '../../config/model.ts';

export const PATH_OK = 0;
/** path_with_escaped_slashes_action REJECT_REQUEST and the path has %2F or %5C: 400. */
export const PATH_REJECT = 1;
/** UNESCAPE_AND_REDIRECT and the path had %2F or %5C: 307 to the prepared path. */
export const PATH_REDIRECT = 2;
export type PathVerdict = typeof PATH_OK | typeof PATH_REJECT | typeof PATH_REDIRECT;

/** Something that carries a path (the RequestView): the prepared path replaces it. */
export interface PathCarrier {
  path: string;
}

/**
 * Prepares `target.path` (an origin-form path without its query) as the listener says; the prepared path is what
 * routes match and what goes upstream. Paths that need nothing (the usual case) cost one scan and no allocation.
 */
export function normalizeRequestPath(target: PathCarrier, options: PathNormalization): PathVerdict {
  const path = target.path;
  if (path.charCodeAt(0) !== 47 /* / */ || !needsWork(path, options)) return PATH_OK;
  let out = path;
  let verdict: PathVerdict = PATH_OK;
  const action = options.escapedSlashes;
  if (action !== 'keep-unchanged') {
    const unescaped = unescapeSlashes(out);
    if (unescaped !== undefined) {
      if (action === 'reject-request') return PATH_REJECT;
      if (action === 'unescape-and-redirect') verdict = PATH_REDIRECT;
      out = unescaped;
    }
  }
  if (options.normalizePath) out = removeDotSegments(normalizeEncoding(out));
  if (options.mergeSlashes) out = mergeSlashes(out);
  target.path = out;
  return verdict;
}

/** Whether any step could change the path: a `%`, a `\`, a `//` or a `.` / `..` segment. */
function needsWork(path: string, options: PathNormalization): boolean {
  const normalize = options.normalizePath;
  const merge = options.mergeSlashes;
  const escaped = options.escapedSlashes !== 'keep-unchanged';
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 37 /* % */) {
      if (normalize || escaped) return true;
    } else if (c === 92 /* \ */) {
      if (normalize) return true;
    } else if (c === 47 /* / */) {
      const next = path.charCodeAt(i + 1);
      if (next === 47) {
        if (merge) return true;
      } else if (next === 46 /* . */ && normalize && isDotSegment(path, i + 1)) return true;
    }
  }
  return false;
}

/** path[at…] starts a `.` or `..` segment (ended by `/` or the end of the path). */
function isDotSegment(path: string, at: number): boolean {
  let end = at + 1;
  if (path.charCodeAt(end) === 46) end++;
  return end === path.length || path.charCodeAt(end) === 47;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** %2F → `/` and %5C → `\` (any case); undefined when the path has neither. */
function unescapeSlashes(path: string): string | undefined {
  let out: string | undefined;
  let from = 0;
  let pct = path.indexOf('%');
  while (pct >= 0 && pct + 2 < path.length) {
    const hi = path.charCodeAt(pct + 1);
    const lo = path.charCodeAt(pct + 2) | 0x20;
    const ch = hi === 50 /* 2 */ && lo === 102 /* f */ ? '/' : hi === 53 /* 5 */ && lo === 99 /* c */ ? '\\' : '';
    if (ch !== '') {
      out = (out ?? '') + path.slice(from, pct) + ch;
      from = pct + 3;
      pct = path.indexOf('%', from);
    } else pct = path.indexOf('%', pct + 1);
  }
  return out === undefined ? undefined : out + path.slice(from);
}

/** RFC 3986 unreserved characters: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(c: number): boolean {
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) ||
    c === 45 ||
    c === 46 ||
    c === 95 ||
    c === 126
  );
}

const HEX = '0123456789ABCDEF';

/**
 * Percent-encodings of unreserved characters decoded (`%2e` → `.`, `%41` → `A`), others upper-cased (`%2f` → `%2F`),
 * a `%` without two hex digits kept as is; `\` becomes `/` (what Envoy's canonicalizer and browsers do).
 */
function normalizeEncoding(path: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 92 /* \ */) {
      out += `${path.slice(from, i)}/`;
      from = i + 1;
    } else if (c === 37 /* % */ && i + 2 < path.length) {
      const hi = hexValue(path.charCodeAt(i + 1));
      const lo = hexValue(path.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) continue;
      const byte = hi * 16 + lo;
      out += path.slice(from, i) + (isUnreserved(byte) ? String.fromCharCode(byte) : `%${HEX[hi]}${HEX[lo]}`);
      from = i + 3;
      i += 2;
    }
  }
  return from === 0 ? path : out + path.slice(from);
}

/** RFC 3986 §5.2.4 on an absolute path: `.` segments dropped, `..` removes the segment before it (never above `/`). */
function removeDotSegments(path: string): string {
  if (!hasDotSegment(path)) return path;
  const segments = path.split('/');
  const out: string[] = [];
  let trailing = false;
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i] as string;
    const last = i === segments.length - 1;
    if (s === '.' || s === '..') {
      if (s === '..') out.pop();
      if (last) trailing = true;
      continue;
    }
    out.push(s);
  }
  const joined = `/${out.join('/')}`;
  return trailing && out.length > 0 ? `${joined}/` : joined;
}

function hasDotSegment(path: string): boolean {
  for (let i = path.indexOf('/.'); i >= 0; i = path.indexOf('/.', i + 1)) if (isDotSegment(path, i + 1)) return true;
  return false;
}

/** `//…` runs collapsed into one `/`. */
function mergeSlashes(path: string): string {
  return path.indexOf('//') < 0 ? path : path.replace(/\/{2,}/g, '/');
}
