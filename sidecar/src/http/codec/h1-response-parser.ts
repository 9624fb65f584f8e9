// An incremental, strict HTTP/1.1 response parser for upstream connections: head, framing, chunked bodies, trailers.

import type { HeaderList } from '../message/header-list.ts';
import { parseContentLength, parseFieldLines, validStatusLine } from './h1-fields.ts';

export interface ResponseParserSink {
  /** A final (or 101) response head; names lower-case. keepAlive: the connection may carry another request. */
  onHead(status: number, headers: HeaderList, keepAlive: boolean): void;
  onBody(chunk: Buffer): void;
  /** The response is complete; `last` is its final body chunk when that arrived with the end (one write downstream). */
  onEnd(trailers: HeaderList | undefined, last: Buffer | undefined): void;
  /** A 101 to an upgrade request: the bytes after the head belong to the new protocol. */
  onUpgrade(status: number, headers: HeaderList, rest: Buffer): void;
}

export class ParseError extends Error {
  readonly code = 'HPE_UPSTREAM';
}

const IDLE = 0;
const HEAD = 1;
const BODY_LENGTH = 2;
const BODY_CLOSE = 3;
const CHUNK_SIZE = 4;
const CHUNK_DATA = 5;
const CHUNK_CRLF = 6;
const TRAILERS = 7;
const DONE = 8;

const CRLF = Buffer.from('\r\n');
const CRLFCRLF = Buffer.from('\r\n\r\n');
const MAX_CHUNK_LINE = 1024;
const HEAD_SCAN_BYTES = 2048;

export class H1ResponseParser {
  private readonly sink: ResponseParserSink;
  private readonly maxHeadBytes: number;
  private state = IDLE;
  private pending: Buffer | undefined;
  private remaining = 0;
  private noBody = false;
  private upgrade = false;
  private trailers: HeaderList | undefined;

  constructor(sink: ResponseParserSink, maxHeadBytes: number) {
    this.sink = sink;
    this.maxHeadBytes = maxHeadBytes;
  }

  /** Arms the parser for the response to one request (HEAD responses have no body; upgrades may get a 101). */
  expect(method: string, upgrade: boolean): void {
    this.state = HEAD;
    this.pending = undefined;
    this.noBody = method === 'HEAD';
    this.upgrade = upgrade;
    this.trailers = undefined;
  }

  /** True while a response is being read. */
  get busy(): boolean {
    return this.state !== IDLE && this.state !== DONE;
  }

  /** True when the body runs until the connection closes. */
  get readsUntilClose(): boolean {
    return this.state === BODY_CLOSE;
  }

  /** True once any byte of the current response arrived. */
  get started(): boolean {
    return this.state !== HEAD || this.pending !== undefined;
  }

  /** Feeds bytes; returns an error for malformed input or bytes nobody asked for. */
  execute(chunk: Buffer): ParseError | undefined {
    let data = chunk;
    while (data.length > 0) {
      switch (this.state) {
        case HEAD: {
          const rest = this.readHead(data);
          if (rest instanceof ParseError) return rest;
          if (rest === undefined) return undefined;
          data = rest;
          break;
        }
        case BODY_LENGTH: {
          const n = Math.min(this.remaining, data.length);
          this.remaining -= n;
          const part = n === data.length ? data : data.subarray(0, n);
          data = n === data.length ? EMPTY : data.subarray(n);
          if (this.remaining === 0) this.complete(part);
          else this.sink.onBody(part);
          break;
        }
        case BODY_CLOSE:
          this.sink.onBody(data);
          return undefined;
        case CHUNK_SIZE:
        case TRAILERS: {
          const line = this.readLine(data);
          if (line instanceof ParseError) return line;
          if (line === undefined) return undefined;
          data = line.rest;
          const err = this.state === CHUNK_SIZE ? this.onChunkSize(line.text) : this.onTrailerLine(line.text);
          if (err !== undefined) return err;
          break;
        }
        case CHUNK_DATA: {
          const n = Math.min(this.remaining, data.length);
          this.remaining -= n;
          const part = n === data.length ? data : data.subarray(0, n);
          data = n === data.length ? EMPTY : data.subarray(n);
          this.sink.onBody(part);
          if (this.remaining === 0) {
            this.state = CHUNK_CRLF;
            this.remaining = 2;
          }
          break;
        }
        case CHUNK_CRLF: {
          const want = this.remaining === 2 ? 13 : 10;
          if (data[0] !== want) return new ParseError('bad chunk terminator');
          data = data.subarray(1);
          if (--this.remaining === 0) this.state = CHUNK_SIZE;
          break;
        }
        default:
          return new ParseError('unexpected bytes from upstream');
      }
    }
    return undefined;
  }

  /** The connection closed: completes a close-delimited body; an error when a response was cut short. */
  finish(): ParseError | undefined {
    if (this.state === BODY_CLOSE) {
      this.complete();
      return undefined;
    }
    if (this.busy) return new ParseError('upstream closed mid-response');
    return undefined;
  }

  private complete(last?: Buffer): void {
    this.state = DONE;
    this.sink.onEnd(this.trailers, last);
  }

  /** Accumulates the head; returns the bytes after it, undefined when more is needed. */
  private readHead(data: Buffer): Buffer | ParseError | undefined {
    const buf = this.pending === undefined ? data : Buffer.concat([this.pending, data]);
    // Heads are small: decode a bounded prefix once and search the string (cheaper than Buffer#indexOf + decode).
    const prefix = buf.toString('latin1', 0, Math.min(buf.length, HEAD_SCAN_BYTES));
    let end = prefix.indexOf('\r\n\r\n');
    if (end < 0 && buf.length > HEAD_SCAN_BYTES) end = buf.indexOf(CRLFCRLF);
    if (end < 0) {
      if (buf.length > this.maxHeadBytes) return new ParseError('upstream response head too large');
      this.pending = buf;
      return undefined;
    }
    if (end > this.maxHeadBytes) return new ParseError('upstream response head too large');
    this.pending = undefined;
    const rest = buf.subarray(end + 4);
    const text = end + 4 <= prefix.length ? prefix.slice(0, end) : buf.toString('latin1', 0, end);
    let lineEnd = text.indexOf('\r\n');
    if (lineEnd < 0) lineEnd = text.length;
    const statusLine = lineEnd === text.length ? text : text.slice(0, lineEnd);
    if (!validStatusLine(statusLine)) return new ParseError('bad upstream status line');
    const status = Number(statusLine.slice(9, 12));
    const http10 = statusLine.charCodeAt(7) === 48;
    const headers = parseFieldLines(text, lineEnd + 2, text.length, []);
    if (headers === undefined) return new ParseError('bad upstream header line');
    if (status < 200) {
      if (status === 101 && this.upgrade) {
        this.state = DONE;
        this.sink.onUpgrade(status, headers, rest);
        return EMPTY;
      }
      return rest; // 100 Continue, 103 Early Hints…: skip, the final head follows.
    }
    return this.frame(status, headers, http10, rest);
  }

  /** Decides the body framing (RFC 9112 §6.3) and announces the head. */
  private frame(status: number, headers: HeaderList, http10: boolean, rest: Buffer): Buffer | ParseError {
    let keepAlive = !http10;
    let chunked = false;
    let te: string | undefined;
    let length = -1;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i];
      const value = headers[i + 1] as string;
      if (name === 'content-length') {
        // RFC 9110 §8.6: identical values (`5, 5` or two lines) are forwarded as one field, differing ones refused.
        const n = parseContentLength(value);
        if (n < 0 || (length >= 0 && n !== length)) return new ParseError('bad upstream content-length');
        if (length >= 0) {
          headers.splice(i, 2);
          i -= 2;
        } else if (value.indexOf(',') >= 0) headers[i + 1] = String(n);
        length = n;
      } else if (name === 'transfer-encoding') {
        te = te === undefined ? value : `${te}, ${value}`;
      } else if (name === 'connection') {
        const v = value.toLowerCase();
        if (v === 'keep-alive') {
          if (http10) keepAlive = true;
        } else if (v === 'close' || /(^|,)\s*close\s*(,|$)/.test(v)) keepAlive = false;
        else if (http10 && /(^|,)\s*keep-alive\s*(,|$)/.test(v)) keepAlive = true;
      }
    }
    if (te !== undefined) {
      if (length >= 0) return new ParseError('upstream sent both transfer-encoding and content-length');
      chunked = /(^|,)\s*chunked\s*$/i.test(te);
    }
    if (this.noBody || status === 204 || status === 304) {
      this.sink.onHead(status, headers, keepAlive);
      this.complete();
    } else if (chunked) {
      this.state = CHUNK_SIZE;
      this.sink.onHead(status, headers, keepAlive);
    } else if (te !== undefined || length < 0) {
      this.state = BODY_CLOSE;
      this.sink.onHead(status, headers, false);
    } else {
      this.remaining = length;
      this.state = BODY_LENGTH;
      this.sink.onHead(status, headers, keepAlive);
      if (length === 0) this.complete();
    }
    return rest;
  }

  private readLine(data: Buffer): { text: string; rest: Buffer } | ParseError | undefined {
    const buf = this.pending === undefined ? data : Buffer.concat([this.pending, data]);
    const nl = buf.indexOf(CRLF);
    // The same limit however the line was cut by reads: a whole line over it, or a partial one that already is
    // (its CR may end a read).
    if (nl < 0) {
      if (buf.length > MAX_CHUNK_LINE + 1) return new ParseError('upstream chunk line too long');
      this.pending = buf;
      return undefined;
    }
    if (nl > MAX_CHUNK_LINE) return new ParseError('upstream chunk line too long');
    this.pending = undefined;
    return { text: buf.toString('latin1', 0, nl), rest: buf.subarray(nl + 2) };
  }

  private onChunkSize(line: string): ParseError | undefined {
    const semi = line.indexOf(';');
    const hex = (semi < 0 ? line : line.slice(0, semi)).trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) return new ParseError('bad upstream chunk size');
    const size = Number.parseInt(hex, 16);
    if (size === 0) {
      this.state = TRAILERS;
    } else {
      this.remaining = size;
      this.state = CHUNK_DATA;
    }
    return undefined;
  }

  private onTrailerLine(line: string): ParseError | undefined {
    if (line === '') {
      this.complete();
      return undefined;
    }
    this.trailers ??= [];
    if (parseFieldLines(line, 0, line.length, this.trailers) === undefined)
      return new ParseError('bad upstream trailer');
    return undefined;
  }
}

const EMPTY = Buffer.alloc(0);
