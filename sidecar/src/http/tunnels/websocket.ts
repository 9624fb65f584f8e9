// HTTP/1.1 Upgrade (WebSocket) proxying: forward the upgrade request, relay a 101 and splice both sockets, or relay the refusal.

import type { Socket } from 'node:net';
import type { Cluster } from '../../upstream/cluster.ts';
import type { Host } from '../../upstream/host/host.ts';
import { clusterStatNames } from '../codec/http-stats.ts';
import type { HttpContext } from '../context/http-context.ts';
import { applyConnectionClientCert } from '../message/client-cert-header.ts';
import { normalizePeerAddress } from '../message/forwarded-headers.ts';
import { type HeaderList, headerGet } from '../message/header-list.ts';
import { rawHead } from '../message/raw-response.ts';
import { type LocalReply, ResponseFlag, UNREWRITABLE } from '../message/reply.ts';
import { type H1Head, type RequestView, viewFromH1 } from '../message/request-view.ts';
import type { H1Call, H1Connection } from '../pool/h1-connection.ts';
import { type AttemptError, hostAttemptFinished, hostAttemptStarted } from '../pool/upstream-attempt.ts';
import { pickTunnelHost, type RoutedRequest, resolveRoute, streamIdleMs } from '../router/route-request.ts';
import { finalizeResponseHeaders, type ResponseScope, sanitizeUpstreamHeaders } from '../routing/response-headers.ts';
import { prepareUpstreamHeaders, upstreamAuthority, upstreamPath } from '../routing/router.ts';
import { sendRawLocalReply } from '../stream/local-reply.ts';
import { filterTunnel } from './tunnel-filters.ts';
import { watchTunnelIdle } from './tunnel-idle.ts';
import { TunnelObservation } from './tunnel-observation.ts';

/** Handles the h1 server's 'upgrade' event for an accepted (WebSocket) upgrade. */
export function proxyUpgrade(ctx: HttpContext, req: H1Head, socket: Socket, head: Buffer): void {
  ctx.stats.inc(ctx.names.rqTotal);
  const view = viewFromH1(req);
  const empty: ResponseScope = { table: undefined, vhost: undefined, route: undefined };
  if (view === undefined) {
    sendRawLocalReply(
      ctx,
      socket,
      { status: 400, body: 'bad request', flags: ResponseFlag.DownstreamProtocolError },
      empty,
    );
    return;
  }
  // The caller's verified identity, or none: a client's own X-Forwarded-Client-Cert never rides an upgrade upstream.
  applyConnectionClientCert(view.headers, socket, ctx.hcm.forwardClientCert);
  const peer = normalizePeerAddress(socket.remoteAddress);
  const seen = TunnelObservation.begin(ctx, view, peer, socket, false, socket);
  const target = resolveRoute(ctx, view, 'websocket');
  seen?.routed(target.scope, 'reply' in target ? undefined : target.cluster.name);
  if ('reply' in target) {
    seen?.responded(target.reply.status, target.reply);
    sendRawLocalReply(ctx, socket, target.reply, target.scope);
    return;
  }
  const refuse = (reply: LocalReply, scope: ResponseScope): void => {
    seen?.responded(reply.status, reply);
    sendRawLocalReply(ctx, socket, reply, scope);
  };
  // The HTTP filters see the upgrade request as any other: a rate limit or an authentication filter holds it too.
  const run = filterTunnel(ctx, view, peer, socket, target, {
    proceed: (afterHold) => {
      if (socket.destroyed) return;
      if (!afterHold) {
        openUpgrade(ctx, view, socket, head, peer, target, seen);
        return;
      }
      const again = resolveRoute(ctx, view, 'websocket');
      if ('reply' in again) refuse(again.reply, again.scope);
      else openUpgrade(ctx, view, socket, head, peer, again, seen);
    },
    refuse: (reply) => refuse(reply, target.scope),
  });
  if (run === undefined) openUpgrade(ctx, view, socket, head, peer, target, seen);
  else socket.once('close', () => run.destroy());
}

/** Sends the routed upgrade upstream: picks a host, rewrites the path, relays the answer. */
function openUpgrade(
  ctx: HttpContext,
  view: RequestView,
  socket: Socket,
  head: Buffer,
  peer: string,
  target: RoutedRequest,
  seen: TunnelObservation | undefined,
): void {
  const host = pickTunnelHost(target);
  if ('reply' in host) {
    seen?.responded(host.reply.status, host.reply);
    sendRawLocalReply(ctx, socket, host.reply, host.scope);
    return;
  }
  const { route, action, cluster, scope } = target;
  const path = upstreamPath(route, view);
  if (path === undefined) {
    cluster.releaseRequest();
    seen?.responded(UNREWRITABLE.status, UNREWRITABLE);
    sendRawLocalReply(ctx, socket, UNREWRITABLE, scope);
    return;
  }
  const authority = upstreamAuthority(route, view);
  prepareUpstreamHeaders(view, scope, ctx.hcm, peer);
  ctx.markTunnel(socket);
  ctx.stats.inc(clusterStatNames(cluster.name).rqTotal);
  hostAttemptStarted(host);
  seen?.attemptStarted(host, view.headers);
  const pool = ctx.pools.h1(cluster, host);
  const call = new UpgradeCall(
    ctx,
    socket,
    head,
    cluster,
    host,
    scope,
    path,
    authority,
    view.headers,
    view.upgrade ?? 'websocket',
    streamIdleMs(ctx, action),
    seen,
  );
  socket.once('close', () => {
    call.release(false);
    pool.cancel(call);
  });
  pool.dispatch(call);
}

/** The upstream side of an upgrade: relays the 101 and splices, or relays the refusal and closes. */
class UpgradeCall implements H1Call {
  readonly method = 'GET';
  readonly path: string;
  readonly authority: string;
  readonly headers: HeaderList;
  readonly body = null;
  readonly upgrade: string;
  connection: H1Connection | undefined = undefined;
  private readonly ctx: HttpContext;
  private readonly socket: Socket;
  private readonly head: Buffer;
  private readonly cluster: Cluster;
  private readonly host: Host;
  private readonly scope: ResponseScope;
  /** Stream idle limit once spliced (0 = none). */
  private readonly idleMs: number;
  private started = false;
  private released = false;
  private readonly seen: TunnelObservation | undefined;

  constructor(
    ctx: HttpContext,
    socket: Socket,
    head: Buffer,
    cluster: Cluster,
    host: Host,
    scope: ResponseScope,
    path: string,
    authority: string,
    headers: HeaderList,
    upgrade: string,
    idleMs: number,
    seen: TunnelObservation | undefined,
  ) {
    this.seen = seen;
    this.ctx = ctx;
    this.socket = socket;
    this.head = head;
    this.cluster = cluster;
    this.host = host;
    this.scope = scope;
    this.path = path;
    this.authority = authority;
    this.headers = headers;
    this.upgrade = upgrade;
    this.idleMs = idleMs;
    socket.on('error', () => socket.destroy());
  }

  onUpgrade(status: number, headers: HeaderList, upstream: Socket, rest: Buffer): void {
    clusterStatNames(this.cluster.name).response(this.ctx.stats, status);
    const seen = this.seen;
    if (seen !== undefined) {
      seen.attemptEnded({ status, headers });
      seen.responded(status);
      seen.sent(rest.length);
      upstream.on('data', (chunk: Buffer) => seen.sent(chunk.length));
    }
    const upgrade = headerGet(headers, 'upgrade');
    const list = this.responseHeaders(headers);
    list.push('connection', 'upgrade');
    if (upgrade !== undefined) list.push('upgrade', upgrade);
    this.ctx.names.response(this.ctx.stats, status);
    const socket = this.socket;
    if (socket.destroyed) {
      upstream.destroy();
      return;
    }
    socket.write(rawHead(status, list));
    if (rest.length > 0) socket.write(rest);
    if (this.head.length > 0) {
      // Bytes the client sent after the head, read with it.
      seen?.received(this.head.length);
      upstream.write(this.head);
    }
    upstream.on('error', () => upstream.destroy());
    upstream.once('close', () => socket.destroy());
    socket.once('close', () => upstream.destroy());
    seen?.countReceived(socket);
    socket.pipe(upstream);
    upstream.pipe(socket);
    upstream.resume();
    watchTunnelIdle(this.ctx, this.idleMs, socket, upstream);
  }

  onHead(status: number, headers: HeaderList): void {
    this.started = true;
    this.seen?.attemptEnded({ status, headers });
    this.seen?.responded(status);
    clusterStatNames(this.cluster.name).response(this.ctx.stats, status);
    this.ctx.names.response(this.ctx.stats, status);
    const list = this.responseHeaders(headers);
    list.push('connection', 'close');
    this.socket.write(rawHead(status, list));
  }

  onData(chunk: Buffer): boolean {
    this.seen?.sent(chunk.length);
    return this.socket.write(chunk);
  }

  onEnd(_trailers: HeaderList | undefined, last: Buffer | undefined): void {
    this.release(false);
    if (last !== undefined) {
      this.seen?.sent(last.length);
      this.socket.write(last);
    }
    this.socket.end(() => this.socket.destroy());
  }

  onFailure(error: AttemptError): void {
    this.release(true);
    this.seen?.attemptEnded({ error });
    if (this.started || this.socket.destroyed) {
      this.socket.destroy();
      return;
    }
    const reply: LocalReply =
      error === 'connect-failure'
        ? { status: 503, body: 'upstream connect error', flags: ResponseFlag.UpstreamConnectionFailure }
        : error === 'overflow'
          ? { status: 503, body: 'upstream overloaded', flags: ResponseFlag.UpstreamOverflow, overloaded: true }
          : { status: 503, body: 'upstream reset before response', flags: ResponseFlag.UpstreamReset };
    this.seen?.responded(reply.status, reply);
    sendRawLocalReply(this.ctx, this.socket, reply, this.scope);
  }

  release(failed: boolean): void {
    if (this.released) return;
    this.released = true;
    hostAttemptFinished(this.host, failed);
    this.cluster.releaseRequest();
  }

  private responseHeaders(headers: HeaderList): HeaderList {
    const table = this.scope.table;
    const list = sanitizeUpstreamHeaders(headers, table === undefined ? [] : table.internalOnlyHeaders);
    finalizeResponseHeaders(list, this.scope, this.ctx.hcm);
    return list;
  }
}
