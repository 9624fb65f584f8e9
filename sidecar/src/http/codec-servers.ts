// The two downstream codecs: node:http and node:http2 servers that never listen; accepted sockets are emitted into them.
import http, { type IncomingMessage } from 'node:http';
import http2, { type Http2Server } from 'node:http2';
import type { Socket } from 'node:net';
import type { HttpConnectionManagerConfig } from '../config/model.ts';
import type { HttpContext } from './http-context.ts';
import { ResponseFlag } from './local-reply.ts';
import { writeRawResponse } from './raw-response.ts';
import { RESPONSE_FLAGS_HEADER } from './response-headers.ts';

const HEADERS_TIMEOUT_MS = 60_000;
const KEEP_ALIVE_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_HEADERS_KB = 60;

function maxHeaderBytes(hcm: HttpConnectionManagerConfig): number {
  return (hcm.maxRequestHeadersKb > 0 ? hcm.maxRequestHeadersKb : DEFAULT_MAX_HEADERS_KB) * 1024;
}

/** Only WebSocket upgrades leave HTTP; other Upgrade headers (h2c, …) are plain requests with the header stripped. */
function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return typeof upgrade === 'string' && upgrade.toLowerCase() === 'websocket';
}

export function createH1Server(hcm: HttpConnectionManagerConfig): http.Server {
  const requestTimeout = Math.max(hcm.requestTimeoutMs, 0);
  const server = http.createServer({
    maxHeaderSize: maxHeaderBytes(hcm),
    insecureHTTPParser: false,
    requestTimeout,
    headersTimeout: requestTimeout > 0 ? Math.min(HEADERS_TIMEOUT_MS, requestTimeout) : HEADERS_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    connectionsCheckingInterval: 1000,
    requireHostHeader: true,
    optimizeEmptyRequests: true,
    noDelay: true,
    shouldUpgradeCallback: isWebSocketUpgrade,
  });
  // Request/headers timeouts are enforced by a connection sweep that node starts on 'listening'; these servers never
  // listen (sockets come from our listeners), so start the sweep by hand. close() stops it.
  server.emit('listening');
  return server;
}

export function createH2Server(hcm: HttpConnectionManagerConfig): Http2Server {
  return http2.createServer({
    maxSessionMemory: 64,
    settings: { maxHeaderListSize: maxHeaderBytes(hcm), enablePush: false },
  });
}

/** Error codes for malformed HTTP/1.1 from a client → the status we answer with. */
function clientErrorStatus(code: string | undefined): number {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    default:
      return 400;
  }
}

/** The h1 server's 'clientError': answer 400/408/431 when a response can still be written, then close. */
export function handleClientError(ctx: HttpContext, err: Error & { code?: string }, socket: Socket): void {
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || err.code === 'HPE_INVALID_EOF_STATE' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const status = clientErrorStatus(err.code);
  ctx.stats.inc(ctx.names.rqTotal);
  ctx.names.response(ctx.stats, status);
  ctx.deps.logger.debug({ code: err.code, listener: ctx.listener.name }, 'malformed HTTP request');
  writeRawResponse(socket, status, [RESPONSE_FLAGS_HEADER, ResponseFlag.DownstreamProtocolError], '');
}
