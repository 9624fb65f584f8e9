// The downstream side of an exchange: writing heads, trailers and resets the same way over HTTP/1.1 and HTTP/2.
import http2, { type Http2ServerRequest, type Http2ServerResponse, type OutgoingHttpHeaders } from 'node:http2';
import type { Readable } from 'node:stream';
import type { H1ServerRequest } from './h1-server-request.ts';
import type { H1ServerResponse } from './h1-server-response.ts';
import { type HeaderList, headerListToObject } from './header-list.ts';

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

/**
 * Sends the response head. endStream finishes the response with the head: over HTTP/2 as one HEADERS frame with
 * END_STREAM (what gRPC clients need for trailers-only answers). closeConnection asks HTTP/1.1 to close afterwards.
 */
export function sendHead(
  res: DownstreamResponse,
  isH2: boolean,
  status: number,
  headers: HeaderList,
  endStream: boolean,
  closeConnection: boolean,
): void {
  if (isH2) {
    const h2res = res as Http2ServerResponse;
    if (endStream) {
      const obj: OutgoingHttpHeaders = { ':status': status };
      headerListToObject(headers, obj as Record<string, string | string[]>);
      h2res.stream.respond(obj, { endStream: true });
      return;
    }
    h2res.writeHead(status, headers);
    return;
  }
  (res as H1ServerResponse).writeHead(status, headers, endStream, closeConnection);
}

/** Writes a complete small response (local replies). */
export function sendWhole(
  res: DownstreamResponse,
  isH2: boolean,
  status: number,
  headers: HeaderList,
  body: string,
  closeConnection: boolean,
): void {
  if (body === '') {
    sendHead(res, isH2, status, headers, true, closeConnection);
    return;
  }
  headers.push('content-length', String(Buffer.byteLength(body)));
  sendHead(res, isH2, status, headers, false, closeConnection);
  if (isH2) (res as Http2ServerResponse).end(body);
  else (res as H1ServerResponse).end(Buffer.from(body));
}

/** Writes a body chunk; false when the caller should wait for 'drain'. */
export function writeChunk(res: DownstreamResponse, chunk: Buffer): boolean {
  return (res as H1ServerResponse).write(chunk);
}

/** Ends the response, with a last body chunk and trailers (dropped by HTTP/1.1 when the body is not chunked). */
export function endWithTrailers(res: DownstreamResponse, trailers: HeaderList | undefined, last?: Buffer): void {
  if (!isH2Response(res)) {
    res.end(last, trailers);
    return;
  }
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
    const stream = (res as Http2ServerResponse).stream;
    if (!stream.destroyed) stream.close(cancelled ? NGHTTP2_CANCEL : NGHTTP2_INTERNAL_ERROR);
    return;
  }
  (res as H1ServerResponse).destroy();
}
