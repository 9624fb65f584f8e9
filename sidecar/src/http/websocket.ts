// HTTP/1.1 Upgrade (WebSocket) proxying: forward the upgrade request, relay a 101 and splice both sockets, or relay the refusal.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Cluster } from '../upstream/cluster.ts';
import type { Host } from '../upstream/host.ts';
import { normalizePeerAddress } from './forwarded-headers.ts';
import type { HeaderList } from './header-list.ts';
import type { HttpContext } from './http-context.ts';
import { clusterStatNames } from './http-stats.ts';
import { addLocalReplyMarkers, type LocalReply, ResponseFlag, renderLocalReply } from './local-reply.ts';
import { rawHead, writeRawResponse } from './raw-response.ts';
import { viewFromH1 } from './request-view.ts';
import {
  copyUpstreamHeaders,
  finalizeResponseHeaders,
  type ResponseScope,
  type UpstreamHeaders,
} from './response-headers.ts';
import { prepareUpstreamHeaders, upstreamAuthority, upstreamPath } from './router.ts';
import { routeUpgrade } from './upgrade-route.ts';
import { hostAttemptFinished, hostAttemptStarted } from './upstream-attempt.ts';

/** Sends a local reply on a raw socket (the request never became a ServerResponse). */
export function rawLocalReply(ctx: HttpContext, socket: Socket, reply: LocalReply, scope: ResponseScope): void {
  const r = renderLocalReply(reply, false);
  finalizeResponseHeaders(r.headers, scope, ctx.hcm);
  addLocalReplyMarkers(r.headers, reply);
  ctx.names.response(ctx.stats, r.status);
  writeRawResponse(socket, r.status, r.headers, r.body);
}

/** Handles the h1 server's 'upgrade' event for an accepted (WebSocket) upgrade. */
export function proxyUpgrade(ctx: HttpContext, req: IncomingMessage, socket: Socket, head: Buffer): void {
  ctx.stats.inc(ctx.names.rqTotal);
  const view = viewFromH1(req);
  const empty: ResponseScope = { table: undefined, vhost: undefined, route: undefined };
  if (view === undefined) {
    rawLocalReply(
      ctx,
      socket,
      { status: 400, body: 'bad request', flags: ResponseFlag.DownstreamProtocolError },
      empty,
    );
    return;
  }
  const target = routeUpgrade(ctx, view, 'websocket');
  if ('reply' in target) {
    rawLocalReply(ctx, socket, target.reply, target.scope);
    return;
  }
  const { route, cluster, host, scope } = target;
  const path = upstreamPath(route, view);
  const authority = upstreamAuthority(route, view);
  prepareUpstreamHeaders(view, scope, ctx.hcm, normalizePeerAddress(socket.remoteAddress));
  view.headers.push('host', authority);
  ctx.markTunnel(socket);
  const handler = new UpgradeHandler(ctx, socket, head, cluster, host, scope);
  ctx.stats.inc(clusterStatNames(cluster.name).rqTotal);
  hostAttemptStarted(host);
  ctx.pools
    .h1(cluster, host)
    .dispatch(
      { method: 'GET', path, headers: view.headers, upgrade: view.upgrade ?? 'websocket', body: null },
      handler,
    );
}

class UpgradeHandler implements Dispatcher.DispatchHandler {
  private readonly ctx: HttpContext;
  private readonly socket: Socket;
  private readonly head: Buffer;
  private readonly cluster: Cluster;
  private readonly host: Host;
  private readonly scope: ResponseScope;
  private controller: Dispatcher.DispatchController | null = null;
  private started = false;
  private released = false;

  constructor(ctx: HttpContext, socket: Socket, head: Buffer, cluster: Cluster, host: Host, scope: ResponseScope) {
    this.ctx = ctx;
    this.socket = socket;
    this.head = head;
    this.cluster = cluster;
    this.host = host;
    this.scope = scope;
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      this.controller?.abort(new Error('downstream closed'));
      this.release(false);
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.socket.destroyed) controller.abort(new Error('downstream closed'));
  }

  onRequestUpgrade(
    _c: Dispatcher.DispatchController,
    status: number,
    headers: UpstreamHeaders,
    upstream: Duplex,
  ): void {
    clusterStatNames(this.cluster.name).response(this.ctx.stats, status);
    const list = this.responseHeaders(headers);
    list.push('connection', 'upgrade');
    if (typeof headers.upgrade === 'string') list.push('upgrade', headers.upgrade);
    this.ctx.names.response(this.ctx.stats, status);
    const socket = this.socket;
    if (socket.destroyed) {
      upstream.destroy();
      return;
    }
    socket.write(rawHead(status, list));
    if (this.head.length > 0) upstream.write(this.head);
    upstream.on('error', () => upstream.destroy());
    upstream.once('close', () => socket.destroy());
    socket.once('close', () => upstream.destroy());
    socket.pipe(upstream);
    upstream.pipe(socket);
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: UpstreamHeaders): void {
    this.started = true;
    clusterStatNames(this.cluster.name).response(this.ctx.stats, status);
    this.ctx.names.response(this.ctx.stats, status);
    const list = this.responseHeaders(headers);
    list.push('connection', 'close');
    this.socket.write(rawHead(status, list));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.socket.write(chunk)) return;
    controller.pause();
    this.socket.once('drain', () => controller.resume());
  }

  onResponseEnd(): void {
    this.release(false);
    this.socket.end(() => this.socket.destroy());
  }

  onResponseError(_c: Dispatcher.DispatchController | undefined, _err: Error): void {
    this.release(true);
    if (this.started || this.socket.destroyed) {
      this.socket.destroy();
      return;
    }
    const connectFailed = this.controller === null;
    const reply: LocalReply = connectFailed
      ? { status: 503, body: 'upstream connect error', flags: ResponseFlag.UpstreamConnectionFailure }
      : { status: 503, body: 'upstream reset before response', flags: ResponseFlag.UpstreamReset };
    rawLocalReply(this.ctx, this.socket, reply, this.scope);
  }

  private responseHeaders(headers: UpstreamHeaders): HeaderList {
    const table = this.scope.table;
    const list = copyUpstreamHeaders(headers, table === undefined ? [] : table.internalOnlyHeaders);
    finalizeResponseHeaders(list, this.scope, this.ctx.hcm);
    return list;
  }

  private release(failed: boolean): void {
    if (this.released) return;
    this.released = true;
    hostAttemptFinished(this.host, failed);
    this.cluster.releaseRequest();
  }
}
