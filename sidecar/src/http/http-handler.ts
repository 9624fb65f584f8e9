// The HTTP connection manager: takes accepted sockets, picks the codec, runs each request through the router, drains.

import type { Http2Server, Http2ServerRequest, Http2ServerResponse, ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { HttpConnectionManagerConfig, ListenerConfig } from '../config/model.ts';
import type { ConnectionHandler, ConnectionHandlerFactory } from '../listeners/connection-handler.ts';
import { sniffCodec } from './codec/codec-sniff.ts';
import { type DownstreamEncoder, H1Encoder, H2Encoder } from './codec/downstream.ts';
import { H1ServerConnection, type H1ServerHandlers, type H1ServerOptions } from './codec/h1-server-connection.ts';
import type { H1ServerRequest } from './codec/h1-server-request.ts';
import type { H1ServerResponse } from './codec/h1-server-response.ts';
import { H2SessionGuard } from './codec/h2-session-guard.ts';
import { createH2Server, h1ServerOptions, rejectMalformed } from './codec-servers.ts';
import { HttpContext } from './context/http-context.ts';
import type { HttpDeps } from './context/http-deps.ts';
import type { HttpFilterRegistry } from './filter/registry.ts';
import { normalizePeerAddress } from './message/forwarded-headers.ts';
import { ResponseFlag } from './message/reply.ts';
import { viewFromH1, viewFromH2 } from './message/request-view.ts';
import { RESPONSE_FLAGS_HEADER } from './routing/response-headers.ts';
import { Exchange } from './stream/exchange.ts';
import { tunnelH1, tunnelH2 } from './tunnels/connect-tunnel.ts';
import { proxyUpgrade } from './tunnels/websocket.ts';

/** How long a connection may take to show its codec when the head deadline is off. */
const SNIFF_TIMEOUT_MS = 60_000;
/** A draining listener closes an idle HTTP/1.1 connection once it has stayed idle this long. */
const DRAIN_IDLE_MS = 1000;

/** The handler factory for HTTP connection managers, building their HTTP filters from `filters` (filters/setup.ts). */
export function httpHandlerFactory(filters?: HttpFilterRegistry): ConnectionHandlerFactory<HttpDeps> {
  return (listener: ListenerConfig, deps: HttpDeps) => {
    if (listener.filter.type !== 'http') throw new Error(`listener ${listener.name}: not an HTTP connection manager`);
    return new HttpConnectionManager(listener, listener.filter.http, deps, filters);
  };
}

/** HTTP connection managers with no HTTP filter types (the router alone). */
export const createHttpHandler: ConnectionHandlerFactory<HttpDeps> = httpHandlerFactory();

export class HttpConnectionManager implements ConnectionHandler, H1ServerHandlers {
  readonly ctx: HttpContext;
  private readonly h1: H1ServerOptions;
  private readonly h2: Http2Server;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly codec: HttpConnectionManagerConfig['codec'];
  /** A new connection's first bytes (h2c preface or an HTTP/1.1 head) are due within the head deadline. */
  private readonly sniffMs: number;
  private readonly unregisterGauges: () => void;
  private idleWaiter: (() => void) | undefined;
  private drained: Promise<void> | undefined;

  constructor(
    listener: ListenerConfig,
    hcm: HttpConnectionManagerConfig,
    deps: HttpDeps,
    filters?: HttpFilterRegistry,
  ) {
    const ctx = new HttpContext(listener, hcm, deps, filters);
    this.ctx = ctx;
    this.codec = hcm.codec;
    this.sniffMs = hcm.limits.requestHeadersTimeoutMs > 0 ? hcm.limits.requestHeadersTimeoutMs : SNIFF_TIMEOUT_MS;
    this.h1 = h1ServerOptions(hcm);
    this.h2 = createH2Server(hcm);
    this.h2.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => this.onH2Request(req, res));
    this.h2.on('connect', (req: Http2ServerRequest, res: Http2ServerResponse) => tunnelH2(ctx, req, res));
    this.h2.on('session', (session: ServerHttp2Session) => this.onSession(session));
    this.h2.on('sessionError', () => undefined);
    ctx.onSocketIdle = (socket) => socket.end();
    const cx = deps.stats.gauge(ctx.names.cxActive, () => this.sockets.size);
    const rq = deps.stats.gauge(ctx.names.rqActive, () => ctx.activeRequests);
    this.unregisterGauges = () => {
      cx();
      rq();
    };
  }

  handle(socket: Socket): void {
    this.sockets.add(socket);
    this.ctx.stats.inc(this.ctx.names.cxTotal);
    socket.once('close', () => {
      HttpContext.socketClosed(socket);
      this.sockets.delete(socket);
      if (this.sockets.size === 0) this.idleWaiter?.();
    });
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    if (this.codec === 'http1') this.h1Connections.set(socket, new H1ServerConnection(socket, this, this.h1));
    else if (this.codec === 'http2') this.serveH2(socket);
    else sniffCodec(socket, this.sniffMs, (s, isH2) => this.dispatch(s, isH2));
  }

  activeConnections(): number {
    return this.sockets.size;
  }

  drain(graceMs: number): Promise<void> {
    this.drained ??= this.drainOnce(graceMs);
    return this.drained;
  }

  private async drainOnce(graceMs: number): Promise<void> {
    const ctx = this.ctx;
    ctx.draining = true;
    for (const session of this.sessions) if (!session.closed) session.close();
    let undecided = false;
    for (const socket of this.sockets) {
      if (this.sessionSockets.has(socket) || ctx.isTunnel(socket) || HttpContext.inflight(socket) !== 0) continue;
      const conn = this.h1Connections.get(socket);
      if (graceMs <= DRAIN_IDLE_MS) socket.end();
      else if (conn !== undefined) conn.drainIdle(DRAIN_IDLE_MS);
      // Accepted just before the drain, its codec not known yet: its first request is on its way (a pool that just
      // connected), and is answered with Connection: close (HTTP/1.1) or GOAWAY (h2c) rather than reset.
      else undecided = true;
    }
    // One that has still not shown its codec after the idle allowance is as good as idle.
    const idleCut = undecided ? setTimeout(() => this.endUndecided(), DRAIN_IDLE_MS) : undefined;
    if (this.sockets.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.idleWaiter = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
      this.idleWaiter = undefined;
    }
    clearTimeout(idleCut);
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets) socket.destroy();
    this.unregisterGauges();
    // Shared pools outlive this connection manager (the next one keeps their warm connections).
    if (ctx.ownsPools) await ctx.pools.close(Math.max(0, graceMs));
  }

  /** Ends the connections that have not shown their codec yet (still being sniffed). */
  private endUndecided(): void {
    for (const socket of this.sockets)
      if (!this.sessionSockets.has(socket) && !this.h1Connections.has(socket) && !this.ctx.isTunnel(socket))
        socket.end();
  }

  private readonly sessionSockets = new WeakSet<Socket>();
  private readonly h1Connections = new WeakMap<Socket, H1ServerConnection>();
  private readonly guards = new WeakMap<ServerHttp2Session, H2SessionGuard>();

  private dispatch(socket: Socket, isH2: boolean): void {
    if (isH2) this.serveH2(socket);
    else {
      this.h1Connections.set(socket, new H1ServerConnection(socket, this, this.h1));
    }
    process.nextTick(resumeSocket, socket);
  }

  /**
   * An HTTP/2 connection. A client that closes its sending side (FIN without GOAWAY) can finish no stream: the
   * connection is closed then, as Envoy does, so its streams end and release what they hold (node:http2 would keep
   * the half-open socket and every stream on it).
   */
  private serveH2(socket: Socket): void {
    this.sessionSockets.add(socket);
    socket.once('end', destroySocket);
    this.h2.emit('connection', socket);
  }

  private onSession(session: ServerHttp2Session): void {
    this.sessions.add(session);
    this.guards.set(session, new H2SessionGuard(session, this.ctx.hcm.limits, this.ctx.stats, this.ctx.names));
    session.once('close', () => this.sessions.delete(session));
    if (this.ctx.draining) session.close();
  }

  // ---- H1ServerHandlers -----------------------------------------------------------------------------------------

  get draining(): boolean {
    return this.ctx.draining;
  }

  onRequest(req: H1ServerRequest, res: H1ServerResponse): void {
    this.ctx.stats.inc(this.ctx.names.rqTotal);
    const view = viewFromH1(req);
    if (view !== undefined) new Exchange(this.ctx, new H1Encoder(req, res), view, peerOf(req.socket)).run();
    else this.badRequest(new H1Encoder(req, res));
  }

  onTunnel(req: H1ServerRequest, socket: Socket, head: Buffer): void {
    if (req.method === 'CONNECT') tunnelH1(this.ctx, req, socket, head);
    else proxyUpgrade(this.ctx, req, socket, head);
  }

  onMalformed(socket: Socket, status: number, reason: string): void {
    rejectMalformed(this.ctx, socket, status, reason);
  }

  private onH2Request(req: Http2ServerRequest, res: Http2ServerResponse): void {
    this.ctx.stats.inc(this.ctx.names.rqTotal);
    const enc = new H2Encoder(req, res);
    // node:http2 emits a stream a tick after its HEADERS: one the client reset in the same read is already gone.
    if (enc.gone()) return;
    const view = viewFromH2(req);
    if (view === undefined) {
      this.badRequest(enc);
      return;
    }
    const exchange = new Exchange(this.ctx, enc, view, peerOf(req.socket));
    const guard = this.guards.get(req.stream.session as ServerHttp2Session);
    if (guard !== undefined) guard.admit(exchange);
    else exchange.run();
  }

  /** A request head that cannot be proxied (e.g. an invalid authority): 400 DPE, and the connection closes. */
  private badRequest(enc: DownstreamEncoder): void {
    const ctx = this.ctx;
    ctx.names.response(ctx.stats, 400);
    enc.whole(400, [RESPONSE_FLAGS_HEADER, ResponseFlag.DownstreamProtocolError], 'bad request', true);
  }
}

function peerOf(socket: Socket): string {
  return normalizePeerAddress(socket.remoteAddress);
}

function destroySocket(this: Socket): void {
  this.destroy();
}

function resumeSocket(socket: Socket): void {
  if (!socket.destroyed) socket.resume();
}
