// The HTTP connection manager: takes accepted sockets, picks the codec, runs each request through the router, drains.
import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2Server, Http2ServerRequest, Http2ServerResponse, ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { HttpConnectionManagerConfig, ListenerConfig } from '../config/model.ts';
import type { ConnectionHandler, ConnectionHandlerFactory, HandlerDeps } from '../listeners/connection-handler.ts';
import { createH1Server, createH2Server, handleClientError } from './codec-servers.ts';
import { sniffCodec } from './codec-sniff.ts';
import { tunnelH1, tunnelH2 } from './connect-tunnel.ts';
import type { DownstreamRequest, DownstreamResponse } from './downstream.ts';
import { sendWhole } from './downstream.ts';
import { Exchange } from './exchange.ts';
import { normalizePeerAddress } from './forwarded-headers.ts';
import { HttpContext } from './http-context.ts';
import { ResponseFlag } from './local-reply.ts';
import { viewFromH1, viewFromH2 } from './request-view.ts';
import { RESPONSE_FLAGS_HEADER } from './response-headers.ts';
import { proxyUpgrade } from './websocket.ts';

const SNIFF_TIMEOUT_MS = 60_000;

export const createHttpHandler: ConnectionHandlerFactory = (listener: ListenerConfig, deps: HandlerDeps) => {
  if (listener.filter.type !== 'http') throw new Error(`listener ${listener.name}: not an HTTP connection manager`);
  return new HttpConnectionManager(listener, listener.filter.http, deps);
};

export class HttpConnectionManager implements ConnectionHandler {
  readonly ctx: HttpContext;
  private readonly h1: http.Server;
  private readonly h2: Http2Server;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly codec: HttpConnectionManagerConfig['codec'];
  private readonly unregisterGauge: () => void;
  private idleWaiter: (() => void) | undefined;
  private drained: Promise<void> | undefined;

  constructor(listener: ListenerConfig, hcm: HttpConnectionManagerConfig, deps: HandlerDeps) {
    const ctx = new HttpContext(listener, hcm, deps);
    this.ctx = ctx;
    this.codec = hcm.codec;
    this.h1 = createH1Server(hcm);
    this.h1.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res, false));
    this.h1.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => proxyUpgrade(ctx, req, socket, head));
    this.h1.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => tunnelH1(ctx, req, socket, head));
    this.h1.on('clientError', (err: Error, socket: Socket) => handleClientError(ctx, err, socket));
    this.h2 = createH2Server(hcm);
    this.h2.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => this.onRequest(req, res, true));
    this.h2.on('connect', (req: Http2ServerRequest, res: Http2ServerResponse) => tunnelH2(ctx, req, res));
    this.h2.on('session', (session: ServerHttp2Session) => this.onSession(session));
    this.h2.on('sessionError', () => undefined);
    ctx.onSocketIdle = (socket) => socket.end();
    this.unregisterGauge = deps.stats.gauge(ctx.names.cxActive, () => this.sockets.size);
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
    if (this.codec === 'http1') this.h1.emit('connection', socket);
    else if (this.codec === 'http2') this.h2.emit('connection', socket);
    else sniffCodec(socket, SNIFF_TIMEOUT_MS, (s, isH2) => this.dispatch(s, isH2));
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
    for (const socket of this.sockets) {
      if (!this.sessionSockets.has(socket) && !ctx.isTunnel(socket) && HttpContext.inflight(socket) === 0) socket.end();
    }
    if (this.sockets.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.idleWaiter = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
      this.idleWaiter = undefined;
    }
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets) socket.destroy();
    this.h1.close();
    this.unregisterGauge();
    await ctx.pools.close(Math.max(0, graceMs));
  }

  private readonly sessionSockets = new WeakSet<Socket>();

  private dispatch(socket: Socket, isH2: boolean): void {
    if (isH2) {
      this.sessionSockets.add(socket);
      this.h2.emit('connection', socket);
    } else {
      this.h1.emit('connection', socket);
    }
    process.nextTick(resumeSocket, socket);
  }

  private onSession(session: ServerHttp2Session): void {
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    if (this.ctx.draining) session.close();
  }

  private onRequest(req: DownstreamRequest, res: DownstreamResponse, isH2: boolean): void {
    const ctx = this.ctx;
    ctx.stats.inc(ctx.names.rqTotal);
    const view = isH2 ? viewFromH2(req as Http2ServerRequest) : viewFromH1(req as IncomingMessage);
    if (view === undefined) {
      ctx.names.response(ctx.stats, 400);
      sendWhole(res, isH2, 400, [RESPONSE_FLAGS_HEADER, ResponseFlag.DownstreamProtocolError], 'bad request', true);
      return;
    }
    const peer = normalizePeerAddress(req.socket.remoteAddress);
    new Exchange(ctx, req, res, view, isH2, peer).run();
  }
}

function resumeSocket(socket: Socket): void {
  if (!socket.destroyed) socket.resume();
}
