// The downstream side of an exchange: writing heads, trailers and resets the same way over HTTP/1.1 and HTTP/2.
import http2, { type Http2ServerRequest, type Http2ServerResponse, type OutgoingHttpHeaders } from 'node:http2';
import type { Readable } from 'node:stream';
import { type HeaderList, headerListToObject, headerRemove } from '../message/header-list.ts';
import type { H1ServerRequest } from './h1-server-request.ts';
import type { H1ServerResponse } from './h1-server-response.ts';
import { locallyReset } from './h2-session-guard.ts';

export type DownstreamRequest = H1ServerRequest | Http2ServerRequest;
export type DownstreamResponse = H1ServerResponse | Http2ServerResponse;

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR } = http2.constants;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * The request body as a stream; undefined when the request carries none (the HTTP/2 stream ended with the head, or
 * the HTTP/1.1 head announced no body).
 */
export function requestBody(req: DownstreamRequest, isH2: boolean): Readable | undefined {
  if (isH2) return (req as Http2ServerRequest).stream.endAfterHeaders ? undefined : (req as Http2ServerRequest);
  return (req as H1ServerRequest).body;
}

/** What sendHead did: the head went out, it could not be encoded (nothing was written), or the stream is gone. */
export type HeadResult = 'sent' | 'invalid' | 'gone';

/**
 * Headers node:http2 refuses to repeat (its single-value list): identical repeats are collapsed, differing ones make
 * the head invalid (the caller answers 502 instead), except `date`, where the first wins.
 */
const H2_SINGLE_VALUE: ReadonlySet<string> = new Set([
  'access-control-allow-credentials',
  'access-control-max-age',
  'access-control-request-method',
  'age',
  'authorization',
  'content-encoding',
  'content-language',
  'content-length',
  'content-location',
  'content-md5',
  'content-range',
  'content-type',
  'date',
  'dnt',
  'etag',
  'expires',
  'from',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'range',
  'referer',
  'retry-after',
  'tk',
  'upgrade-insecure-requests',
  'user-agent',
  'x-content-type-options',
]);

/** Connection-specific headers HTTP/2 forbids (RFC 9113 §8.2.2); dropped, as they describe the upstream hop only. */
const H2_CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'te',
]);

/**
 * A response head as node:http2 takes it, checked the way node checks it so that respond() cannot throw: undefined
 * when the status or a header cannot go out over HTTP/2 (a pseudo-header, an invalid name or value, differing repeats
 * of a single-value header).
 */
export function h2ResponseHead(status: number, headers: HeaderList): OutgoingHttpHeaders | undefined {
  if (!(status >= 200 && status <= 599)) return undefined;
  const obj: Record<string, string | string[] | number> = { ':status': status };
  for (let i = 0; i < headers.length; i += 2) {
    let name = headers[i] as string;
    const value = headers[i + 1] as string;
    if (!TOKEN.test(name)) {
      const lower = name.toLowerCase();
      if (!TOKEN.test(lower)) return undefined;
      name = lower;
    }
    if (INVALID_VALUE.test(value)) return undefined;
    if (H2_CONNECTION_SPECIFIC.has(name)) continue;
    const prev = obj[name];
    if (prev === undefined || name === '__proto__') {
      if (name === '__proto__') return undefined;
      obj[name] = value;
    } else if (H2_SINGLE_VALUE.has(name)) {
      if (prev !== value && name !== 'date') return undefined;
    } else if (typeof prev === 'string') obj[name] = [prev, value];
    else (prev as string[]).push(value);
  }
  return obj;
}

/** The HTTP/2 stream behind a response can take no more frames (reset by the peer, closed, session gone). */
export function h2StreamGone(res: Http2ServerResponse): boolean {
  const stream = res.stream;
  return stream === undefined || stream.destroyed || stream.closed;
}

/**
 * Sends the response head. endStream finishes the response with the head: over HTTP/2 as one HEADERS frame with
 * END_STREAM (what gRPC clients need for trailers-only answers). closeConnection asks HTTP/1.1 to close afterwards.
 * Never throws for what a peer sent: a head that cannot be encoded is 'invalid' and nothing was written.
 */
export function sendHead(
  res: DownstreamResponse,
  isH2: boolean,
  status: number,
  headers: HeaderList,
  endStream: boolean,
  closeConnection: boolean,
): HeadResult {
  if (isH2) {
    const h2res = res as Http2ServerResponse;
    if (h2StreamGone(h2res)) return 'gone';
    if (h2res.stream.headersSent) return 'invalid';
    const head = h2ResponseHead(status, headers);
    if (head === undefined) return 'invalid';
    // Straight to the stream (the compat response keeps no header state to poison); waitForTrailers lets the compat
    // layer send trailers added later (endWithTrailers).
    h2res.stream.respond(head, { endStream, waitForTrailers: !endStream });
    return 'sent';
  }
  const h1res = res as H1ServerResponse;
  if (h1res.finished) return 'gone';
  if (h1res.headersSent) return 'invalid';
  try {
    h1res.writeHead(status, headers, endStream, closeConnection);
  } catch {
    return 'invalid';
  }
  return 'sent';
}

/** Writes a complete small response (local replies); what sendHead did ('sent' when it went out whole). */
export function sendWhole(
  res: DownstreamResponse,
  isH2: boolean,
  status: number,
  headers: HeaderList,
  body: string | Buffer,
  closeConnection: boolean,
): HeadResult {
  if (body.length === 0) return sendHead(res, isH2, status, headers, true, closeConnection);
  headerRemove(headers, 'content-length');
  headers.push('content-length', String(Buffer.byteLength(body)));
  const sent = sendHead(res, isH2, status, headers, false, closeConnection);
  if (sent !== 'sent') return sent;
  if (isH2) (res as Http2ServerResponse).end(body);
  else (res as H1ServerResponse).end(typeof body === 'string' ? Buffer.from(body) : body);
  return 'sent';
}

/** Writes a body chunk; false when the caller should wait for 'drain'. */
export function writeChunk(res: DownstreamResponse, chunk: Buffer): boolean {
  if (isH2Response(res) && h2StreamGone(res)) return true;
  return (res as H1ServerResponse).write(chunk);
}

/** Ends the response, with a last body chunk and trailers (dropped by HTTP/1.1 when the body is not chunked). */
export function endWithTrailers(res: DownstreamResponse, trailers: HeaderList | undefined, last?: Buffer): void {
  if (!isH2Response(res)) {
    res.end(last, trailers);
    return;
  }
  if (h2StreamGone(res)) return;
  if (trailers !== undefined && trailers.length > 0) {
    const obj: Record<string, string | string[]> = {};
    // HTTP/2 sends trailers later, from an event handler where a throw cannot be caught: drop invalid ones here.
    for (let i = 0; i < trailers.length; i += 2) {
      if (!TOKEN.test(trailers[i] as string) || INVALID_VALUE.test(trailers[i + 1] as string)) {
        trailers.splice(i, 2);
        i -= 2;
      }
    }
    headerListToObject(trailers, obj);
    try {
      res.addTrailers(obj);
    } catch {
      // Trailers that cannot be written (invalid characters) are dropped; the body is complete without them.
    }
  }
  if (last === undefined) res.end();
  else res.end(last);
}

function isH2Response(res: DownstreamResponse): res is Http2ServerResponse {
  return (res as Http2ServerResponse).stream !== undefined;
}

/** Aborts a response that cannot be completed: RST_STREAM over HTTP/2, closing the connection over HTTP/1.1. */
export function resetDownstream(res: DownstreamResponse, isH2: boolean, cancelled: boolean): void {
  if (isH2) {
    const stream = (res as Http2ServerResponse).stream as Http2ServerResponse['stream'] | undefined;
    if (stream === undefined || stream.destroyed) return;
    locallyReset.add(stream);
    stream.close(cancelled ? NGHTTP2_CANCEL : NGHTTP2_INTERNAL_ERROR);
    return;
  }
  (res as H1ServerResponse).destroy();
}
