// The two downstream codecs: our HTTP/1.1 server connection (options from the HCM) and a node:http2 server that never
// listens (accepted h2c sockets are emitted into it); malformed HTTP/1.1 answered on the raw socket.
import http2, { type Http2Server } from 'node:http2';
import type { Socket } from 'node:net';
import type { HttpConnectionManagerConfig } from '../config/model.ts';
import type { H1ServerOptions } from './h1-server-connection.ts';
import type { HttpContext } from './http-context.ts';
import { ResponseFlag } from './local-reply.ts';
import { writeRawResponse } from './raw-response.ts';
import { RESPONSE_FLAGS_HEADER } from './response-headers.ts';

const HEADERS_TIMEOUT_MS = 60_000;
const KEEP_ALIVE_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_HEADERS_KB = 60;
/** The pseudo-header fields of an HTTP/2 request, which node counts against maxHeaderListPairs. */
const H2_PSEUDO_HEADERS = 4;

function maxHeaderBytes(hcm: HttpConnectionManagerConfig): number {
  return (hcm.maxRequestHeadersKb > 0 ? hcm.maxRequestHeadersKb : DEFAULT_MAX_HEADERS_KB) * 1024;
}

export function h1ServerOptions(hcm: HttpConnectionManagerConfig): H1ServerOptions {
  const requestTimeout = Math.max(hcm.requestTimeoutMs, 0);
  const headersTimeout = requestTimeout > 0 ? Math.min(HEADERS_TIMEOUT_MS, requestTimeout) : HEADERS_TIMEOUT_MS;
  return {
    maxHeadBytes: maxHeaderBytes(hcm),
    maxHeadersCount: hcm.maxHeadersCount,
    idleTimeoutMs: Math.min(headersTimeout, KEEP_ALIVE_TIMEOUT_MS),
  };
}

export function createH2Server(hcm: HttpConnectionManagerConfig): Http2Server {
  return http2.createServer({
    maxSessionMemory: 64,
    // node counts the pseudo-headers too (:method, :scheme, :authority, :path): past the limit the stream is reset
    // with ENHANCE_YOUR_CALM, as Envoy resets HTTP/2 streams over max_headers_count.
    maxHeaderListPairs: hcm.maxHeadersCount + H2_PSEUDO_HEADERS,
    settings: { maxHeaderListSize: maxHeaderBytes(hcm), enablePush: false },
  });
}

/** Malformed HTTP/1.1 from a client: answer 400/408/431 when a response can still be written, then close. */
export function rejectMalformed(ctx: HttpContext, socket: Socket, status: number, reason: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  ctx.stats.inc(ctx.names.rqTotal);
  ctx.names.response(ctx.stats, status);
  ctx.deps.logger.debug({ reason, status, listener: ctx.listener.name }, 'malformed HTTP request');
  writeRawResponse(socket, status, [RESPONSE_FLAGS_HEADER, ResponseFlag.DownstreamProtocolError], '');
}
