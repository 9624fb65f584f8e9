// One downstream request through the router: route, circuit breaker, attempts with retries and timeouts, streamed response.
import type { Socket } from 'node:net';
import type { Cluster } from '../upstream/cluster.ts';
import type { PickContext } from '../upstream/load-balancer.ts';
import { createAttempt, type UpstreamRequest } from './create-attempt.ts';
import {
  type DownstreamRequest,
  type DownstreamResponse,
  endWithTrailers,
  requestHasNoBody,
  resetDownstream,
  sendHead,
  writeChunk,
} from './downstream.ts';
import { GrpcStatus, grpcStatusOf, isGrpcContentType, parseGrpcTimeout } from './grpc.ts';
import { requestHash } from './hash-policy.ts';
import { type HeaderList, headerGet, headerHas } from './header-list.ts';
import type { ConnectionBound, HttpContext } from './http-context.ts';
import { type ClusterStatNames, clusterStatNames } from './http-stats.ts';
import { type LocalReply, ResponseFlag, sendLocalReply } from './local-reply.ts';
import type { RequestView } from './request-view.ts';
import { finalizeResponseHeaders, type ResponseScope, sanitizeUpstreamHeaders } from './response-headers.ts';
import type { AttemptFailure } from './retry-policy.ts';
import { RetryState } from './retry-state.ts';
import { resolveRoute } from './route-request.ts';
import { prepareUpstreamHeaders, upstreamAuthority, upstreamPath } from './router.ts';
import type { AttemptError, AttemptSink, UpstreamAttempt } from './upstream-attempt.ts';

const kExchange = Symbol('exchange');
const NONE: readonly string[] = [];
const NO_SCOPE: ResponseScope = { table: undefined, vhost: undefined, route: undefined };

/** What the client gets when no attempt produced a response. */
const FAILURE_REPLIES: Readonly<Record<AttemptError, LocalReply>> = {
  'connect-failure': { status: 503, body: 'upstream connect error', flags: ResponseFlag.UpstreamConnectionFailure },
  reset: { status: 503, body: 'upstream reset before response', flags: ResponseFlag.UpstreamReset },
  'refused-stream': { status: 503, body: 'upstream refused the stream', flags: ResponseFlag.UpstreamReset },
  protocol: { status: 502, body: 'upstream protocol error', flags: ResponseFlag.UpstreamProtocolError },
  overflow: { status: 503, body: 'upstream overloaded', flags: ResponseFlag.UpstreamOverflow, overloaded: true },
  timeout: { status: 504, body: 'upstream request timeout', flags: ResponseFlag.UpstreamRequestTimeout },
};

function isRetriable(error: AttemptError): error is AttemptFailure {
  return error !== 'protocol' && error !== 'overflow';
}

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
  private scope: ResponseScope = NO_SCOPE;
  private cluster: Cluster | undefined;
  private cnames: ClusterStatNames | undefined;
  private readonly upstream: UpstreamRequest = { method: '', path: '', authority: '', headers: [], body: null };
  private grpc = false;
  private retry: RetryState | undefined;
  private readonly pick: PickContext = {};
  private attempt: UpstreamAttempt | undefined;
  private timeoutMs = 0;
  private globalTimer: NodeJS.Timeout | undefined;
  private tryTimer: NodeJS.Timeout | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  private acquired = false;
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
    const routed = resolveRoute(ctx, view, undefined);
    this.scope = routed.scope;
    if ('reply' in routed) {
      this.reply(routed.reply);
      return;
    }
    const { route, action, cluster } = routed;
    this.cluster = cluster;
    this.cnames = clusterStatNames(cluster.name);
    this.acquired = true;
    const upstream = this.upstream;
    upstream.method = view.method;
    upstream.path = upstreamPath(route, view);
    upstream.authority = upstreamAuthority(route, view);
    upstream.headers = view.headers;
    prepareUpstreamHeaders(view, this.scope, ctx.hcm, this.peer);
    if (action.hashPolicy.length > 0) {
      const hash = requestHash(action.hashPolicy, view, this.peer);
      if (hash !== undefined) this.pick.hash = hash;
    }
    const noBody = requestHasNoBody(this.req, this.isH2, view.headers);
    if (!noBody) upstream.body = this.req;
    if (route.retry !== undefined) this.retry = new RetryState(route.retry, cluster, noBody);
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
    const attempt = createAttempt(this, this.ctx.pools, cluster, host, this.upstream);
    this.attempt = attempt;
    attempt.start();
  }

  onUpstreamHeaders(attempt: UpstreamAttempt, status: number, headers: HeaderList, endStream: boolean): boolean {
    if (attempt !== this.attempt) return false;
    this.clearTryTimer();
    const { ctx } = this;
    (this.cnames as ClusterStatNames).response(ctx.stats, status);
    const retry = this.retry;
    if (retry !== undefined) {
      const grpcStatus = this.grpc ? grpcStatusOf(headerGet(headers, 'grpc-status')) : undefined;
      if (retry.retryResponse(status, grpcStatus)) {
        this.scheduleRetry(retry, attempt);
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

  onUpstreamEnd(attempt: UpstreamAttempt, trailers: HeaderList | undefined, last?: Buffer): void {
    if (attempt !== this.attempt) return;
    this.attempt = undefined;
    const table = this.scope.table;
    if (trailers !== undefined)
      sanitizeUpstreamHeaders(trailers, table === undefined ? NONE : table.internalOnlyHeaders);
    endWithTrailers(this.res, trailers, last);
    this.finish();
  }

  onUpstreamError(attempt: UpstreamAttempt, error: AttemptError): void {
    if (attempt !== this.attempt) return;
    this.attempt = undefined;
    this.clearTryTimer();
    const cnames = this.cnames as ClusterStatNames;
    if (error === 'reset' || error === 'refused-stream') this.ctx.stats.inc(cnames.rqReset);
    const retry = this.retry;
    if (retry !== undefined && !this.responseStarted && isRetriable(error) && retry.retryFailure(error)) {
      this.scheduleRetry(retry, attempt);
      return;
    }
    this.fail(FAILURE_REPLIES[error]);
  }

  private scheduleRetry(retry: RetryState, previous: UpstreamAttempt): void {
    this.attempt = undefined;
    this.ctx.stats.inc((this.cnames as ClusterStatNames).rqRetry);
    const delay = retry.next(previous.host);
    this.pick.avoid = retry.avoid;
    this.backoffTimer = setTimeout(onBackoff, delay, this);
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
    this.responseStarted = true;
    sendLocalReply(this.ctx, this.res, this.isH2, reply, this.scope, this.grpc);
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
    this.retry?.release();
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
