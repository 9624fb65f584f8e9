// One downstream request through the router: route, circuit breaker, attempts with retries and timeouts, streamed response.
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Cluster } from '../upstream/cluster.ts';
import type { Host } from '../upstream/host.ts';
import type { PickContext } from '../upstream/load-balancer.ts';
import {
  type DownstreamRequest,
  type DownstreamResponse,
  endWithTrailers,
  requestHasNoBody,
  resetDownstream,
  sendHead,
  sendWhole,
  writeChunk,
} from './downstream.ts';
import { GrpcStatus, grpcStatusOf, isGrpcContentType, parseGrpcTimeout } from './grpc.ts';
import { H1Attempt } from './h1-attempt.ts';
import { H2Attempt } from './h2-attempt.ts';
import { requestHash } from './hash-policy.ts';
import { type HeaderList, headerGet, headerHas, headerListToObject } from './header-list.ts';
import type { ConnectionBound, HttpContext } from './http-context.ts';
import { type ClusterStatNames, clusterStatNames } from './http-stats.ts';
import { addLocalReplyMarkers, type LocalReply, ResponseFlag, renderLocalReply } from './local-reply.ts';
import type { RequestView } from './request-view.ts';
import { finalizeResponseHeaders, type ResponseScope, sanitizeUpstreamHeaders } from './response-headers.ts';
import { type CompiledRetryPolicy, retriableFailure, retriableResponse, retryBackoffMs } from './retry-policy.ts';
import { pickWeightedCluster, prepareUpstreamHeaders, upstreamAuthority, upstreamPath } from './router.ts';
import type { AttemptError, AttemptSink, UpstreamAttempt } from './upstream-attempt.ts';

const kExchange = Symbol('exchange');
const NONE: readonly string[] = [];

/** What the client gets when no attempt produced a response. */
const FAILURE_REPLIES: Readonly<Record<AttemptError, LocalReply>> = {
  'connect-failure': { status: 503, body: 'upstream connect error', flags: ResponseFlag.UpstreamConnectionFailure },
  reset: { status: 503, body: 'upstream reset before response', flags: ResponseFlag.UpstreamReset },
  'refused-stream': { status: 503, body: 'upstream refused the stream', flags: ResponseFlag.UpstreamReset },
  protocol: { status: 502, body: 'upstream protocol error', flags: ResponseFlag.UpstreamProtocolError },
  timeout: { status: 504, body: 'upstream request timeout', flags: ResponseFlag.UpstreamRequestTimeout },
};

interface Carrier {
  [kExchange]?: Exchange | undefined;
}

export class Exchange implements AttemptSink, ConnectionBound {
  private readonly ctx: HttpContext;
  private readonly req: DownstreamRequest;
  private readonly res: DownstreamResponse;
  private readonly view: RequestView;
  private readonly isH2: boolean;
  private readonly socket: Socket | undefined;
  private readonly peer: string;
  private readonly scope: ResponseScope = { table: undefined, vhost: undefined, route: undefined };
  private cluster: Cluster | undefined;
  private cnames: ClusterStatNames | undefined;
  private path = '';
  private authority = '';
  private body: Readable | null = null;
  private grpc = false;
  private retry: CompiledRetryPolicy | undefined;
  private retriesLeft = 0;
  private retryCount = 0;
  private readonly pick: PickContext = {};
  private avoid: Set<Host> | undefined;
  private attempt: UpstreamAttempt | undefined;
  private timeoutMs = 0;
  private globalTimer: NodeJS.Timeout | undefined;
  private tryTimer: NodeJS.Timeout | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  private acquired = false;
  private retrySlot = false;
  private responseStarted = false;
  private drainHooked = false;
  private done = false;

  constructor(
    ctx: HttpContext,
    req: DownstreamRequest,
    res: DownstreamResponse,
    view: RequestView,
    isH2: boolean,
    peer: string,
  ) {
    this.ctx = ctx;
    this.req = req;
    this.res = res;
    this.view = view;
    this.isH2 = isH2;
    this.peer = peer;
    this.socket = isH2 ? undefined : (req.socket as Socket);
  }

  run(): void {
    const { ctx, view } = this;
    (this.res as Carrier)[kExchange] = this;
    if (this.socket !== undefined) ctx.requestStarted(this.socket, this);
    else this.res.on('close', onResponseClose);
    this.grpc = isGrpcContentType(headerGet(view.headers, 'content-type'));
    const table = ctx.routeTable();
    const match = table?.match(view);
    this.scope.table = table;
    if (match === undefined) {
      this.reply({ status: 404, body: 'route not found', flags: ResponseFlag.NoRoute });
      return;
    }
    this.scope.vhost = match.vhost;
    this.scope.route = match.route;
    const route = match.route;
    const action = route.action;
    if (action === undefined) {
      const direct = route.direct ?? { status: 500, body: '' };
      this.reply({ status: direct.status, body: direct.body, flags: '' });
      return;
    }
    const clusterName = pickWeightedCluster(action);
    const cluster = clusterName === undefined ? undefined : ctx.deps.clusters.get(clusterName);
    if (cluster === undefined) {
      this.reply({ status: 503, body: 'cluster not found', flags: ResponseFlag.NoCluster });
      return;
    }
    const cnames = clusterStatNames(cluster.name);
    this.cluster = cluster;
    this.cnames = cnames;
    if (!cluster.tryAcquireRequest()) {
      this.reply({
        status: 503,
        body: 'upstream overloaded',
        flags: ResponseFlag.UpstreamOverflow,
        overloaded: true,
      });
      return;
    }
    this.acquired = true;
    this.path = upstreamPath(route, view);
    this.authority = upstreamAuthority(route, view);
    prepareUpstreamHeaders(view, this.scope, ctx.hcm, this.peer);
    if (action.hashPolicy.length > 0) {
      const hash = requestHash(action.hashPolicy, view, this.peer);
      if (hash !== undefined) this.pick.hash = hash;
    }
    if (cluster.config.protocol !== 'http2') view.headers.push('host', this.authority);
    const noBody = requestHasNoBody(this.req, this.isH2, view.headers);
    if (!noBody) this.body = this.req;
    this.retry = route.retry;
    this.retriesLeft = noBody && route.retry !== undefined ? route.retry.numRetries : 0;
    this.timeoutMs = action.timeoutMs;
    const grpcTimeout = this.grpc ? parseGrpcTimeout(headerGet(view.headers, 'grpc-timeout')) : undefined;
    if (grpcTimeout !== undefined && (this.timeoutMs === 0 || grpcTimeout < this.timeoutMs)) {
      this.timeoutMs = grpcTimeout;
      this.startGlobalTimer();
    } else if (this.timeoutMs > 0) {
      if (noBody) this.startGlobalTimer();
      else {
        (this.req as Carrier)[kExchange] = this;
        this.req.once('end', onRequestEnd);
      }
    }
    this.startAttempt();
  }

  // ---- attempts -------------------------------------------------------------------------------------------------

  private startAttempt(): void {
    const cluster = this.cluster as Cluster;
    const cnames = this.cnames as ClusterStatNames;
    const host = cluster.pick(this.pick);
    if (host === undefined) {
      this.fail({ status: 503, body: 'no healthy upstream', flags: ResponseFlag.NoHealthyUpstream });
      return;
    }
    cluster.stats.upstreamRequests++;
    this.ctx.stats.inc(cnames.rqTotal);
    const perTry = this.retry?.perTryTimeoutMs ?? 0;
    if (perTry > 0) this.tryTimer = setTimeout(onTryTimeout, perTry, this);
    const view = this.view;
    if (cluster.config.protocol === 'http2') {
      const attempt = new H2Attempt(this, host);
      this.attempt = attempt;
      const headers: Record<string, string | string[]> = {
        ':method': view.method,
        ':path': this.path,
        ':authority': this.authority,
        ':scheme': 'http',
      };
      headerListToObject(view.headers, headers);
      attempt.start(this.ctx.pools.h2(cluster, host), headers, this.body);
    } else {
      const attempt = new H1Attempt(this, host, view.method, this.path, view.headers, this.body);
      this.attempt = attempt;
      attempt.start(this.ctx.pools.h1(cluster, host));
    }
  }

  onUpstreamHeaders(attempt: UpstreamAttempt, status: number, headers: HeaderList, endStream: boolean): boolean {
    if (attempt !== this.attempt) return false;
    this.clearTryTimer();
    const { ctx } = this;
    (this.cnames as ClusterStatNames).response(ctx.stats, status);
    if (this.retriesLeft > 0 && this.retry !== undefined) {
      const grpcStatus = this.grpc ? grpcStatusOf(headerGet(headers, 'grpc-status')) : undefined;
      if (retriableResponse(this.retry, status, grpcStatus) && this.acquireRetrySlot()) {
        this.scheduleRetry(attempt);
        return false;
      }
    }
    const table = this.scope.table;
    const list = sanitizeUpstreamHeaders(headers, table === undefined ? NONE : table.internalOnlyHeaders);
    finalizeResponseHeaders(list, this.scope, ctx.hcm);
    this.responseStarted = true;
    ctx.names.response(ctx.stats, status);
    try {
      sendHead(this.res, this.isH2, status, list, endStream, ctx.draining);
    } catch {
      attempt.cancel();
      this.attempt = undefined;
      this.responseStarted = false;
      this.reply({ status: 502, body: 'invalid upstream response headers', flags: ResponseFlag.UpstreamProtocolError });
      return false;
    }
    if (endStream) {
      this.attempt = undefined;
      this.finish();
    } else if (!this.isH2 && !headerHas(list, 'content-length')) {
      // Streaming bodies (chunked, SSE) must not wait for their first chunk to show the head.
      (this.res as { flushHeaders(): void }).flushHeaders();
    }
    return true;
  }

  onUpstreamData(attempt: UpstreamAttempt, chunk: Buffer): boolean {
    if (attempt !== this.attempt) return true;
    if (writeChunk(this.res, chunk)) return true;
    if (!this.drainHooked) {
      this.drainHooked = true;
      this.res.on('drain', onResponseDrain);
    }
    return false;
  }

  onUpstreamEnd(attempt: UpstreamAttempt, trailers: HeaderList | undefined): void {
    if (attempt !== this.attempt) return;
    this.attempt = undefined;
    const table = this.scope.table;
    if (trailers !== undefined)
      sanitizeUpstreamHeaders(trailers, table === undefined ? NONE : table.internalOnlyHeaders);
    endWithTrailers(this.res, trailers);
    this.finish();
  }

  onUpstreamError(attempt: UpstreamAttempt, error: AttemptError): void {
    if (attempt !== this.attempt) return;
    this.attempt = undefined;
    this.clearTryTimer();
    const cnames = this.cnames as ClusterStatNames;
    if (error === 'reset' || error === 'refused-stream') this.ctx.stats.inc(cnames.rqReset);
    if (!this.responseStarted && error !== 'protocol' && this.retriesLeft > 0 && this.retry !== undefined) {
      if (retriableFailure(this.retry, error) && this.acquireRetrySlot()) {
        this.scheduleRetry(attempt);
        return;
      }
    }
    this.fail(FAILURE_REPLIES[error]);
  }

  /** The cluster's max_retries breaker: one slot per request while it is retrying. */
  private acquireRetrySlot(): boolean {
    if (this.retrySlot) return true;
    if ((this.cluster as Cluster).tryAcquireRetry?.() === false) return false;
    this.retrySlot = true;
    return true;
  }

  private scheduleRetry(previous: UpstreamAttempt): void {
    this.attempt = undefined;
    this.retriesLeft--;
    this.retryCount++;
    this.ctx.stats.inc((this.cnames as ClusterStatNames).rqRetry);
    this.avoid ??= new Set();
    this.avoid.add(previous.host);
    this.pick.avoid = this.avoid;
    this.backoffTimer = setTimeout(onBackoff, retryBackoffMs(this.retryCount), this);
  }

  // ---- timers ---------------------------------------------------------------------------------------------------

  startGlobalTimer(): void {
    if (this.done || this.globalTimer !== undefined) return;
    this.globalTimer = setTimeout(onGlobalTimeout, this.timeoutMs, this);
  }

  retryNow(): void {
    this.backoffTimer = undefined;
    if (!this.done) this.startAttempt();
  }

  tryTimedOut(): void {
    this.tryTimer = undefined;
    const attempt = this.attempt;
    if (attempt === undefined || this.done) return;
    this.ctx.stats.inc((this.cnames as ClusterStatNames).rqPerTryTimeout);
    attempt.host.stats.failures++;
    attempt.cancel();
    this.onUpstreamError(attempt, 'timeout');
  }

  globalTimedOut(): void {
    this.globalTimer = undefined;
    if (this.done) return;
    this.ctx.stats.inc((this.cnames as ClusterStatNames).rqTimeout);
    this.attempt?.cancel();
    this.attempt = undefined;
    const deadline = this.grpc ? { grpcStatus: GrpcStatus.DEADLINE_EXCEEDED } : {};
    if (!this.responseStarted) {
      this.reply({
        status: 504,
        body: 'upstream request timeout',
        flags: ResponseFlag.UpstreamRequestTimeout,
        ...deadline,
      });
      return;
    }
    if (this.grpc && this.isH2) {
      endWithTrailers(this.res, [
        'grpc-status',
        String(GrpcStatus.DEADLINE_EXCEEDED),
        'grpc-message',
        'deadline exceeded',
      ]);
      this.finish();
      return;
    }
    resetDownstream(this.res, this.isH2, false);
    this.finish();
  }

  private clearTryTimer(): void {
    if (this.tryTimer !== undefined) {
      clearTimeout(this.tryTimer);
      this.tryTimer = undefined;
    }
  }

  // ---- downstream -----------------------------------------------------------------------------------------------

  resumeUpstream(): void {
    this.attempt?.resume();
  }

  downstreamClosed(): void {
    if (this.done) return;
    this.attempt?.cancel();
    this.attempt = undefined;
    this.finish();
  }

  /** An upstream failure: a local reply when nothing was sent yet, else a reset of the downstream stream. */
  private fail(reply: LocalReply): void {
    if (!this.responseStarted) {
      this.reply(reply);
      return;
    }
    resetDownstream(this.res, this.isH2, false);
    this.finish();
  }

  private reply(reply: LocalReply): void {
    const { ctx } = this;
    const r = renderLocalReply(reply, this.grpc);
    finalizeResponseHeaders(r.headers, this.scope, ctx.hcm);
    addLocalReplyMarkers(r.headers, reply);
    ctx.names.response(ctx.stats, r.status);
    this.responseStarted = true;
    if (!this.res.headersSent) sendWhole(this.res, this.isH2, r.status, r.headers, r.body, ctx.draining);
    else resetDownstream(this.res, this.isH2, false);
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.clearTryTimer();
    if (this.globalTimer !== undefined) clearTimeout(this.globalTimer);
    if (this.backoffTimer !== undefined) clearTimeout(this.backoffTimer);
    this.globalTimer = this.backoffTimer = undefined;
    if (this.acquired) {
      this.acquired = false;
      (this.cluster as Cluster).releaseRequest();
    }
    if (this.retrySlot) {
      this.retrySlot = false;
      (this.cluster as Cluster).releaseRetry?.();
    }
    if (this.socket !== undefined) this.ctx.requestFinished(this.socket, this);
  }
}

function onResponseClose(this: DownstreamResponse): void {
  const ex = (this as Carrier)[kExchange];
  (this as Carrier)[kExchange] = undefined;
  ex?.downstreamClosed();
}

function onResponseDrain(this: DownstreamResponse): void {
  (this as Carrier)[kExchange]?.resumeUpstream();
}

function onRequestEnd(this: DownstreamRequest): void {
  const ex = (this as Carrier)[kExchange];
  (this as Carrier)[kExchange] = undefined;
  ex?.startGlobalTimer();
}

function onTryTimeout(ex: Exchange): void {
  ex.tryTimedOut();
}

function onGlobalTimeout(ex: Exchange): void {
  ex.globalTimedOut();
}

function onBackoff(ex: Exchange): void {
  ex.retryNow();
}
