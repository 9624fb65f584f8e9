// A strict HTTP/1.1 request parser for downstream connections: request heads (pure) and request body framing.
import { parseContentLength } from './h1-fields.ts';

/** tchar (RFC 9110 §5.6.2): what method tokens and field names are made of. */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TOKEN[c.charCodeAt(0)] = 1;
/** Field value bytes: HTAB, visible ASCII, SP and obs-text; no other controls. */
const VALUE = new Uint8Array(256);
for (let c = 0; c < 256; c++) VALUE[c] = c === 9 || (c >= 0x20 && c !== 0x7f) ? 1 : 0;

/** The request head fields the parser fills in (H1ServerRequest implements this). */
export interface RequestHeadFields {
  method: string;
  url: string;
  httpVersion: string;
  /** `[name, value, …]`, names lower-case. */
  rawHeaders: string[];
  /** The connection may carry another request after this one (HTTP/1.1 default, HTTP/1.0 with keep-alive). */
  keepAlive: boolean;
  /** Content-Length, or -1 when absent. */
  contentLength: number;
  chunked: boolean;
  /** A WebSocket upgrade (Connection: upgrade + Upgrade: websocket); other upgrades stay plain requests. */
  upgrade: boolean;
  expectContinue: boolean;
}

/** Status for a head we refuse (400, or 431 for too many fields); 0 when the head is fine. */
export const HEAD_OK = 0;

/** Envoy's default `max_headers_count`. */
export const DEFAULT_MAX_HEADERS_COUNT = 100;

/**
 * Parses `text` (the head without its final CRLFCRLF, latin1) into `out`. Returns HEAD_OK, 400, or 431 when the head
 * has more than `maxHeaders` fields. Field syntax is checked byte by byte (RFC 9112 §3, §5); framing per RFC 9112
 * §6.1–6.3 (Transfer-Encoding with Content-Length, conflicting lengths and non-chunked request codings are refused).
 */
export function parseRequestHead(
  text: string,
  out: RequestHeadFields,
  maxHeaders: number = DEFAULT_MAX_HEADERS_COUNT,
): number {
  let lineEnd = text.indexOf('\r\n');
  if (lineEnd < 0) lineEnd = text.length;
  const sp1 = text.indexOf(' ');
  if (sp1 <= 0 || sp1 >= lineEnd) return 400;
  for (let i = 0; i < sp1; i++) if (TOKEN[text.charCodeAt(i)] !== 1) return 400;
  const sp2 = text.indexOf(' ', sp1 + 1);
  if (sp2 < 0 || sp2 === sp1 + 1 || sp2 + 9 !== lineEnd) return 400;
  for (let i = sp1 + 1; i < sp2; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return 400;
  }
  if (!text.startsWith('HTTP/1.', sp2 + 1)) return 400;
  const minor = text.charCodeAt(sp2 + 8);
  if (minor !== 49 && minor !== 48) return 400;
  const http10 = minor === 48;
  out.method = text.slice(0, sp1);
  out.url = text.slice(sp1 + 1, sp2);
  out.httpVersion = http10 ? '1.0' : '1.1';
  const raw = out.rawHeaders;
  let length = -1;
  let te: string | undefined;
  let connection: string | undefined;
  let upgrade: string | undefined;
  let expect = false;
  const end = text.length;
  let pos = lineEnd + 2;
  let fields = 0;
  while (pos < end) {
    if (++fields > maxHeaders) return 431;
    let eol = text.indexOf('\r\n', pos);
    if (eol < 0) eol = end;
    let i = pos;
    while (i < eol && TOKEN[text.charCodeAt(i)] === 1) i++;
    if (i === pos || i >= eol || text.charCodeAt(i) !== 58 /* : */) return 400;
    let vs = i + 1;
    while (vs < eol && (text.charCodeAt(vs) === 32 || text.charCodeAt(vs) === 9)) vs++;
    let ve = eol;
    while (ve > vs && (text.charCodeAt(ve - 1) === 32 || text.charCodeAt(ve - 1) === 9)) ve--;
    for (let k = vs; k < ve; k++) if (VALUE[text.charCodeAt(k)] !== 1) return 400;
    const name = text.slice(pos, i).toLowerCase();
    const value = text.slice(vs, ve);
    raw.push(name, value);
    pos = eol + 2;
    switch (name.length) {
      case 6:
        if (name === 'expect' && value.toLowerCase() === '100-continue') expect = true;
        break;
      case 7:
        if (name === 'upgrade') upgrade = value;
        break;
      case 10:
        if (name === 'connection') connection = connection === undefined ? value : `${connection},${value}`;
        break;
      case 14:
        if (name === 'content-length') {
          // RFC 9110 §8.6: identical values (`5, 5` or two lines) collapse into one field, differing ones are refused.
          const n = parseContentLength(value);
          if (n < 0 || (length >= 0 && n !== length)) return 400;
          if (length >= 0) raw.length -= 2;
          else if (value.indexOf(',') >= 0) raw[raw.length - 1] = String(n);
          length = n;
        }
        break;
      case 17:
        if (name === 'transfer-encoding') te = te === undefined ? value : `${te},${value}`;
        break;
    }
  }
  let chunked = false;
  if (te !== undefined) {
    if (length >= 0 || http10) return 400;
    if (!/(^|,)[ \t]*chunked[ \t]*$/i.test(te) || /chunked[ \t]*,/i.test(te)) return 400;
    chunked = true;
  }
  let keepAlive = !http10;
  let upgradeToken = false;
  if (connection !== undefined) {
    const c = connection.toLowerCase();
    if (c === 'keep-alive') keepAlive = true;
    else if (c === 'close') keepAlive = false;
    else if (c !== 'upgrade') {
      for (const token of c.split(',')) {
        const t = token.trim();
        if (t === 'close') keepAlive = false;
        else if (t === 'keep-alive' && http10) keepAlive = true;
        else if (t === 'upgrade') upgradeToken = true;
      }
    }
    if (c === 'upgrade') upgradeToken = true;
  }
  out.keepAlive = keepAlive;
  out.contentLength = length;
  out.chunked = chunked;
  out.upgrade = upgradeToken && upgrade !== undefined && upgrade.toLowerCase() === 'websocket';
  out.expectContinue = expect && !http10;
  return HEAD_OK;
}

/**
 * True when buf[from…] has a bare LF (a line feed without its CR). A head with one can never end in CRLFCRLF: it is
 * refused at once (400) instead of waiting for the head timeout. Called only while a head is incomplete.
 */
export function hasBareLf(buf: Buffer, from: number): boolean {
  let i = buf.indexOf(10, from);
  while (i >= 0) {
    if (i === from || buf[i - 1] !== 13) return true;
    i = buf.indexOf(10, i + 1);
  }
  return false;
}

/** Where a request body goes, piece by piece. */
export interface BodySink {
  onBodyData(chunk: Buffer): void;
}

const BODY_LENGTH = 0;
const CHUNK_SIZE = 1;
const CHUNK_DATA = 2;
const CHUNK_CRLF = 3;
const TRAILERS = 4;
const BODY_DONE = 5;
const MAX_LINE = 4096;
const CRLF = Buffer.from('\r\n');

/** Request body framing: Content-Length or chunked (extensions skipped, trailers read and dropped). */
export class BodyReader {
  private state = BODY_DONE;
  private remaining = 0;
  private line: Buffer | undefined;

  /** Arms the reader for one body; false when it is empty (Content-Length: 0). */
  start(length: number, chunked: boolean): boolean {
    this.line = undefined;
    if (chunked) {
      this.state = CHUNK_SIZE;
      return true;
    }
    this.remaining = length;
    this.state = length > 0 ? BODY_LENGTH : BODY_DONE;
    return length > 0;
  }

  get done(): boolean {
    return this.state === BODY_DONE;
  }

  /** Feeds bytes; returns how many belonged to the body, or -1 for malformed chunked framing. */
  feed(data: Buffer, sink: BodySink): number {
    let at = 0;
    const len = data.length;
    while (at < len && this.state !== BODY_DONE) {
      switch (this.state) {
        case BODY_LENGTH:
        case CHUNK_DATA: {
          const n = Math.min(this.remaining, len - at);
          sink.onBodyData(at === 0 && n === len ? data : data.subarray(at, at + n));
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            if (this.state === BODY_LENGTH) this.state = BODY_DONE;
            else {
              this.state = CHUNK_CRLF;
              this.remaining = 2;
            }
          }
          break;
        }
        case CHUNK_CRLF: {
          if (data[at] !== (this.remaining === 2 ? 13 : 10)) return -1;
          at++;
          if (--this.remaining === 0) this.state = CHUNK_SIZE;
          break;
        }
        default: {
          // CHUNK_SIZE or TRAILERS: one line at a time (a line cut by a read is kept until its CRLF arrives).
          const pending = this.line;
          const buf = pending === undefined ? data : Buffer.concat([pending, data.subarray(at)]);
          const from = pending === undefined ? at : 0;
          const nl = buf.indexOf(CRLF, from);
          // The same limit however the line was cut by reads: a whole line over it, or a partial one that already
          // is (its CR may end a read).
          if (nl < 0) {
            if (buf.length - from > MAX_LINE + 1) return -1;
            this.line = Buffer.from(buf.subarray(from));
            return len;
          }
          if (nl - from > MAX_LINE) return -1;
          const text = buf.toString('latin1', from, nl);
          this.line = undefined;
          at = pending === undefined ? nl + 2 : nl + 2 - pending.length + at;
          if (!this.onLine(text)) return -1;
        }
      }
    }
    return at;
  }

  private onLine(text: string): boolean {
    if (this.state === TRAILERS) {
      if (text === '') this.state = BODY_DONE;
      else if (text.indexOf(':') <= 0) return false;
      return true;
    }
    const semi = text.indexOf(';');
    const hex = semi < 0 ? text : text.slice(0, semi);
    if (!/^[0-9a-fA-F]{1,12}[ \t]*$/.test(hex)) return false;
    const size = Number.parseInt(hex, 16);
    if (size === 0) this.state = TRAILERS;
    else {
      this.remaining = size;
      this.state = CHUNK_DATA;
    }
    return true;
  }
}
