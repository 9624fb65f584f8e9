// HTTP/1.1 field syntax for the upstream response parser: field lines, status lines, Content-Length values.
import type { HeaderList } from '../message/header-list.ts';

/**
 * Parses the `name: value` lines of text[from, end) (CRLF-separated) into a lower-case list; undefined when a line has
 * no name or whitespace before its colon. Names and values are not checked character by character here: whatever
 * is forwarded is validated again by the downstream codec before it is written.
 */
export function parseFieldLines(text: string, from: number, end: number, into: HeaderList): HeaderList | undefined {
  let pos = from;
  while (pos < end) {
    let eol = text.indexOf('\r\n', pos);
    if (eol < 0 || eol > end) eol = end;
    const colon = text.indexOf(':', pos);
    if (colon <= pos || colon >= eol) return undefined;
    const before = text.charCodeAt(colon - 1);
    if (before === 32 || before === 9) return undefined; // RFC 9112 §5.1
    let vs = colon + 1;
    while (vs < eol && (text.charCodeAt(vs) === 32 || text.charCodeAt(vs) === 9)) vs++;
    let ve = eol;
    while (ve > vs && (text.charCodeAt(ve - 1) === 32 || text.charCodeAt(ve - 1) === 9)) ve--;
    into.push(text.slice(pos, colon).toLowerCase(), text.slice(vs, ve));
    pos = eol + 2;
  }
  return into;
}

/** `HTTP/1.0 ` or `HTTP/1.1 ` followed by three digits and a space or the end of the line. */
export function validStatusLine(s: string): boolean {
  if (s.length < 12 || !s.startsWith('HTTP/1.') || s.charCodeAt(8) !== 32) return false;
  const v = s.charCodeAt(7);
  if (v !== 48 && v !== 49) return false;
  for (let i = 9; i < 12; i++) {
    const d = s.charCodeAt(i);
    if (d < 48 || d > 57) return false;
  }
  return s.length === 12 || s.charCodeAt(12) === 32;
}

/** A Content-Length value: digits, or a list of identical values; -1 when invalid. */
export function parseContentLength(value: string): number {
  const n = parseDigits(value);
  if (n >= 0) return n;
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length < 2 || !parts.every((p) => p === parts[0])) return -1;
  return parseDigits(parts[0] as string);
}

function parseDigits(s: string): number {
  if (s.length === 0 || s.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}
