// The two downstream codecs: our HTTP/1.1 server connection (options from the HCM) and a node:http2 server that never
// listens (accepted h2c sockets are emitted into it); malformed HTTP/1.1 answered on the raw socket.
import http2, { type Http2Server } from 'node:http2';
import type { Socket } from 'node:net';
import type { HttpConnectionManagerConfig } from '../config/model.ts';
import type { H1ServerOptions } from './codec/h1-server-connection.ts';
import type { HttpContext } from './context/http-context.ts';
import { writeRawResponse } from './message/raw-response.ts';
import { ResponseFlag } from './message/reply.ts';
import { RESPONSE_FLAGS_HEADER } from './routing/response-headers.ts';

const DEFAULT_MAX_HEADERS_KB = 60;
/** The pseudo-header fields of an HTTP/2 request, which node counts against maxHeaderListPairs. */
const H2_PSEUDO_HEADERS = 4;

function maxHeaderBytes(hcm: HttpConnectionManagerConfig): number {
  return (hcm.maxRequestHeadersKb > 0 ? hcm.maxRequestHeadersKb : DEFAULT_MAX_HEADERS_KB) * 1024;
}

export function h1ServerOptions(hcm: HttpConnectionManagerConfig): H1ServerOptions {
  // The head is part of the request: a whole-request timeout shorter than the head deadline bounds it too.
  const requestTimeout = Math.max(hcm.requestTimeoutMs, 0);
  const headsMs = hcm.limits.requestHeadersTimeoutMs;
  const headersTimeout = requestTimeout > 0 && (headsMs === 0 || requestTimeout < headsMs) ? requestTimeout : headsMs;
  return {
    maxHeadBytes: maxHeaderBytes(hcm),
    maxHeadersCount: hcm.maxHeadersCount,
    idleTimeoutMs: hcm.limits.idleTimeoutMs,
    headersTimeoutMs: headersTimeout,
    maxRequestsPerConnection: hcm.limits.maxRequestsPerConnection,
  };
}

export function createH2Server(hcm: HttpConnectionManagerConfig): Http2Server {
  return http2.createServer({
    maxSessionMemory: 64,
    // node counts the pseudo-headers too (:method, :scheme, :authority, :path): past the limit the stream is reset
    // with ENHANCE_YOUR_CALM, as Envoy resets HTTP/2 streams over max_headers_count.
    maxHeaderListPairs: hcm.maxHeadersCount + H2_PSEUDO_HEADERS,
    // nghttp2's own rapid-reset bucket (its defaults, stated): past 1,000 resets at once or 33/s sustained, GOAWAY.
    // H2SessionGuard closes a session whose streams are mostly reset right after opening well before that.
    streamResetBurst: 1000,
    streamResetRate: 33,
    settings: {
      maxHeaderListSize: maxHeaderBytes(hcm),
      enablePush: false,
      maxConcurrentStreams: hcm.limits.maxConcurrentStreams,
      initialWindowSize: hcm.limits.initialStreamWindowSize,
    },
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
