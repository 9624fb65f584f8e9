// CONNECT tunnels (HTTP/1.1 'connect' event and HTTP/2 CONNECT streams): route by authority, dial a host (mesh mTLS where
// the cluster says so), splice with half-close.
import http2, { type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { H2Encoder } from '../codec/downstream.ts';
import { clusterStatNames } from '../codec/http-stats.ts';
import type { HttpContext } from '../context/http-context.ts';
import { applyConnectionClientCert } from '../message/client-cert-header.ts';
import { normalizePeerAddress } from '../message/forwarded-headers.ts';
import { type LocalReply, ResponseFlag } from '../message/reply.ts';
import { type H1Head, type RequestView, viewFromH1, viewFromH2 } from '../message/request-view.ts';
import { hostAttemptFinished, hostAttemptStarted } from '../pool/upstream-attempt.ts';
import { pickTunnelHost, type RoutedRequest, resolveRoute, streamIdleMs } from '../router/route-request.ts';
import type { ResponseScope } from '../routing/response-headers.ts';
import { sendLocalReply, sendRawLocalReply } from '../stream/local-reply.ts';
import { filterTunnel } from './tunnel-filters.ts';
import { watchTunnelIdle } from './tunnel-idle.ts';
import { TunnelObservation } from './tunnel-observation.ts';

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const ESTABLISHED = 'HTTP/1.1 200 Connection Established\r\n\r\n';
const { NGHTTP2_CONNECT_ERROR } = http2.constants;

/** The two downstream flavours of a tunnel: a raw HTTP/1.1 socket or an HTTP/2 stream. */
interface TunnelDownstream {
  stream: Duplex;
  /** The downstream connection (HTTP/2: the session's socket). */
  socket: Socket;
  isH2: boolean;
  established(): void;
  refuse(reply: LocalReply, scope: ResponseScope): void;
}

/** The h1 server's 'connect' event. */
export function tunnelH1(ctx: HttpContext, req: H1Head, socket: Socket, head: Buffer): void {
  ctx.stats.inc(ctx.names.rqTotal);
  ctx.markTunnel(socket);
  const down: TunnelDownstream = {
    stream: socket,
    socket,
    isH2: false,
    established: () => {
      ctx.names.response(ctx.stats, 200);
      socket.write(ESTABLISHED);
    },
    refuse: (reply, scope) => sendRawLocalReply(ctx, socket, reply, scope),
  };
  socket.on('error', () => socket.destroy());
  openTunnel(ctx, viewFromH1(req), down, head);
}

/** The h2 server's 'connect' event (a CONNECT stream). */
export function tunnelH2(ctx: HttpContext, req: Http2ServerRequest, res: Http2ServerResponse): void {
  ctx.stats.inc(ctx.names.rqTotal);
  const stream: ServerHttp2Stream = res.stream;
  const down: TunnelDownstream = {
    stream,
    socket: req.socket as Socket,
    isH2: true,
    established: () => {
      ctx.names.response(ctx.stats, 200);
      stream.respond({ ':status': 200 });
    },
    refuse: (reply, scope) => sendLocalReply(ctx, new H2Encoder(req, res), reply, scope, false),
  };
  stream.on('error', () => stream.destroy());
  openTunnel(ctx, viewFromH2(req), down, undefined);
}

function openTunnel(
  ctx: HttpContext,
  view: RequestView | undefined,
  down: TunnelDownstream,
  head: Buffer | undefined,
): void {
  const empty: ResponseScope = { table: undefined, vhost: undefined, route: undefined };
  if (view === undefined) {
    down.refuse({ status: 400, body: 'bad CONNECT request', flags: ResponseFlag.DownstreamProtocolError }, empty);
    return;
  }
  const seen = TunnelObservation.begin(
    ctx,
    view,
    normalizePeerAddress(down.socket.remoteAddress),
    down.socket,
    down.isH2,
    down.stream,
  );
  // Filters (and authorization) see the caller's verified identity, never a client's own claim.
  applyConnectionClientCert(view.headers, down.socket, ctx.hcm.forwardClientCert);
  const target = resolveRoute(ctx, view, 'connect');
  seen?.routed(target.scope, 'reply' in target ? undefined : target.cluster.name);
  const refuse = (reply: LocalReply, scope: ResponseScope): void => {
    seen?.responded(reply.status, reply);
    down.refuse(reply, scope);
  };
  if ('reply' in target) {
    refuse(target.reply, target.scope);
    return;
  }
  const peer = normalizePeerAddress(down.socket.remoteAddress);
  // The HTTP filters see the CONNECT request as any other: a rate limit or an authentication filter holds it too.
  const run = filterTunnel(ctx, view, peer, down.socket, target, {
    proceed: (afterHold) => {
      if (down.stream.destroyed) return;
      if (!afterHold) {
        connectUpstream(ctx, view, down, head, target, seen);
        return;
      }
      const again = resolveRoute(ctx, view, 'connect');
      if ('reply' in again) refuse(again.reply, again.scope);
      else connectUpstream(ctx, view, down, head, again, seen);
    },
    refuse: (reply) => refuse(reply, target.scope),
  });
  if (run === undefined) connectUpstream(ctx, view, down, head, target, seen);
  else down.stream.once('close', () => run.destroy());
}

/** Connects the routed tunnel upstream and splices it with the client once connected. */
function connectUpstream(
  ctx: HttpContext,
  view: RequestView,
  down: TunnelDownstream,
  head: Buffer | undefined,
  target: RoutedRequest,
  seen: TunnelObservation | undefined,
): void {
  const host = pickTunnelHost(target);
  if ('reply' in host) {
    seen?.responded(host.reply.status, host.reply);
    down.refuse(host.reply, host.scope);
    return;
  }
  const { action, cluster, scope } = target;
  const names = clusterStatNames(cluster.name);
  ctx.stats.inc(names.rqTotal);
  hostAttemptStarted(host);
  seen?.attemptStarted(host, view.headers);
  const dialed = ctx.pools.dialTunnel(cluster, host);
  const upstream = dialed.socket;
  let connected = false;
  let released = false;
  const release = (failed: boolean): void => {
    if (released) return;
    released = true;
    hostAttemptFinished(host, failed);
    cluster.releaseRequest();
  };
  const timer = setTimeout(
    () => upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })),
    cluster.config.connectTimeoutMs || DEFAULT_CONNECT_TIMEOUT_MS,
  );
  // 'connect' in plaintext; 'secureConnect' over mesh mTLS, once the server's identity checked out.
  upstream.once(dialed.ready, () => {
    clearTimeout(timer);
    connected = true;
    host.stats.activeConnections++;
    cluster.stats.upstreamConnections++;
    if (down.stream.destroyed) {
      upstream.destroy();
      return;
    }
    down.established();
    if (seen !== undefined) {
      seen.attemptEnded({ status: 200 });
      seen.responded(200);
      upstream.on('data', (chunk: Buffer) => seen.sent(chunk.length));
    }
    if (head !== undefined && head.length > 0) {
      seen?.received(head.length);
      upstream.write(head);
    }
    seen?.countReceived(down.stream);
    splice(down.stream, upstream);
    watchTunnelIdle(ctx, streamIdleMs(ctx, action), down.stream, upstream);
  });
  upstream.on('error', () => {
    if (connected) return;
    clearTimeout(timer);
    ctx.stats.inc(names.cxConnectFail);
    release(true);
    seen?.attemptEnded({ error: 'connect-failure' });
    if (!down.stream.destroyed) {
      const reply: LocalReply = {
        status: 503,
        body: 'upstream connect error',
        flags: ResponseFlag.UpstreamConnectionFailure,
      };
      seen?.responded(reply.status, reply);
      down.refuse(reply, scope);
    }
  });
  upstream.once('close', () => {
    clearTimeout(timer);
    if (connected) host.stats.activeConnections--;
    release(false);
    closeDownstream(down.stream);
  });
  down.stream.once('close', () => upstream.destroy());
}

/** Pipes both ways; each side's end is forwarded as a half-close (FIN / END_STREAM). */
function splice(down: Duplex, up: Socket): void {
  down.pipe(up);
  up.pipe(down);
}

/** When the upstream socket is gone, the downstream side goes too (HTTP/2: RST_STREAM unless it ended cleanly). */
function closeDownstream(down: Duplex): void {
  if (down.destroyed) return;
  if ((down as ServerHttp2Stream).respond !== undefined && !down.writableEnded) {
    (down as ServerHttp2Stream).close(NGHTTP2_CONNECT_ERROR);
    return;
  }
  if (down.writableFinished) down.destroy();
  else down.end(() => down.destroy());
}
