// The router's side of one request (Envoy's router filter): the cluster's request slot, attempts on picked hosts,
// retries with backoff, the per-try and route timeouts, body replay, mirroring, and what outlier detection hears.
import type { Readable } from 'node:stream';
import type { HashPolicy } from '../../config/model.ts';
import type { Cluster } from '../../upstream/cluster.ts';
import type { Host } from '../../upstream/host/host.ts';
import { recordLatency } from '../../upstream/host/latency.ts';
import { missingStickyCookie, requestHashKey, stickySetCookie } from '../../upstream/lb/hash-key.ts';
import type { PickContext } from '../../upstream/lb/load-balancer.ts';
import type { OutlierResult } from '../../upstream/outlier/outlier-detector.ts';
import { type ClusterStatNames, clusterStatNames } from '../codec/http-stats.ts';
import type { RequestObserver } from '../context/exchange-observer.ts';
import type { HttpContext } from '../context/http-context.ts';
import { grpcStatusOf, parseGrpcTimeout } from '../message/grpc.ts';
import { type HeaderList, headerGet } from '../message/header-list.ts';
import { type BufferedBody, bufferBody, releaseBodyHold, replayBody } from '../message/replayable-body.ts';
import { type LocalReply, ResponseFlag, UNREWRITABLE } from '../message/reply.ts';
import type { RequestView } from '../message/request-view.ts';
import { createAttempt, type UpstreamRequest } from '../pool/create-attempt.ts';
import type { AttemptError, AttemptSink, OverloadCause, UpstreamAttempt } from '../pool/upstream-attempt.ts';
import { ViewHashRequest } from '../routing/hash-policy.ts';
import { finalizeResponseHeaders, type ResponseScope, sanitizeUpstreamHeaders } from '../routing/response-headers.ts';
import { type RetryClass, retryClassOf } from '../routing/retry-policy.ts';
import type { CompiledRoute } from '../routing/route-table.ts';
import { prepareUpstreamHeaders, upstreamAuthority, upstreamPath } from '../routing/router.ts';
import { FAILURE_REPLIES, grpcOutlierStatus, isRetriable, OUTLIER_FAILURES } from './attempt-outcome.ts';
import { mirrorRequest } from './mirror.ts';
import { clusterRequestEnded, clusterRequestStarted, RetryState } from './retry-state.ts';
import type { RoutedRequest } from './route-request.ts';

const kRouter = Symbol('router');
const NONE: readonly string[] = [];

interface Carrier {
  [kRouter]?: RouterRequest | undefined;
}

/**
 * What the router needs of the stream it forwards (the Exchange): the request, what observers read of the outcome
 * (attempts, host, grpc-status), and where the response goes.
 */
export interface RouterStream {
  readonly ctx: HttpContext;
  readonly view: RequestView;
  readonly peer: string;
  /** The request is a gRPC call (content-type application/grpc). */
  readonly grpc: boolean;
  readonly scope: ResponseScope;
  readonly responseStarted: boolean;
  /** The stream is over (answered, reset or gone): nothing more may be sent. */
  readonly done: boolean;
  attempts: number;
  upstreamHost: Host | undefined;
  grpcStatus: number | undefined;
  /** A byte went either way (the stream idle timer). */
  markActive(): void;
  /**
   * The upstream's response head, sanitized and finalized; endStream when nothing follows. False: the attempt's
   * response is not wanted any more (the router has been told to cancel, or the response ended with the head).
   */
  encodeHeaders(status: number, headers: HeaderList, endStream: boolean, grpcStatus: number | undefined): boolean;
  /** A response body chunk; false when the upstream should pause until resume(). */
  encodeData(chunk: Buffer): boolean;
  /** The response ended (trailers sanitized). */
  encodeTrailers(trailers: HeaderList | undefined, last: Buffer | undefined): void;
  /** The router cannot complete the request: a local reply, or a reset once the response began. */
  routerFailed(reply: LocalReply): void;
  /** A breaker refused the request or its retry (reply: the failure before the refused retry, if any). */
  routerOverloaded(cause: OverloadCause, reply: LocalReply | undefined): void;
  /** The route's (or grpc-timeout's) deadline passed; the attempt, if any, was cancelled. */
  deadlineExceeded(): void;
}

export class RouterRequest implements AttemptSink {
  private readonly stream: RouterStream;
  private readonly ctx: HttpContext;
  private readonly obs: RequestObserver | undefined;
  readonly cluster: Cluster;
  private readonly cnames: ClusterStatNames;
  private readonly route: CompiledRoute;
  private readonly upstream: UpstreamRequest = { method: '', path: '', authority: '', headers: [], body: null };
  private retry: RetryState | undefined;
  private retryClass: RetryClass = 'idempotent';
  private readonly pick: PickContext = {};
  /** A sticky-session cookie policy the client has no cookie for yet: the response sets it for the picked host. */
  private sticky: HashPolicy | undefined;
  private attempt: UpstreamAttempt | undefined;
  /** performance.now() when the current attempt started (latency for least-response-time). */
  private attemptStartMs = 0;
  /** The current attempt has not been reported to the observer as ended yet (attemptEnd: once per attempt). */
  private attemptOpen = false;
  /** A gRPC response whose outcome (grpc-status in the trailers) outlier detection has yet to hear. */
  private grpcPending = false;
  /** The body held whole (every attempt sends a fresh stream of it). */
  private chunks: readonly Buffer[] | undefined;
  /** Bytes of requestBufferBudget a body buffered here for retries holds. */
  heldBytes = 0;
  /** Stops buffering a retriable gRPC call's body (the request ended first). */
  cancelBuffering: (() => void) | undefined;
  private timeoutMs = 0;
  private globalTimer: NodeJS.Timeout | undefined;
  private tryTimer: NodeJS.Timeout | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  private acquired = true;

  /** `routed.cluster`'s request slot is held from here until release(). */
  constructor(stream: RouterStream, routed: RoutedRequest, obs: RequestObserver | undefined) {
    this.stream = stream;
    this.ctx = stream.ctx;
    this.obs = obs;
    this.cluster = routed.cluster;
    this.route = routed.route;
    this.cnames = clusterStatNames(routed.cluster.name);
    clusterRequestStarted(routed.cluster);
  }

  /**
   * Prepares the upstream request and starts the first attempt. `body`: what is still to stream (undefined: none, or
   * held whole in `chunks`); `original`: the client's body stream, whose end starts the route timeout.
   */
  forward(
    routed: RoutedRequest,
    body: Readable | undefined,
    chunks: readonly Buffer[] | undefined,
    original: Readable | undefined,
    readFirst: boolean,
  ): void {
    const { ctx, stream } = this;
    const { view, grpc } = stream;
    const { route, action } = routed;
    const upstream = this.upstream;
    upstream.method = view.method;
    const path = upstreamPath(route, view);
    if (path === undefined) {
      stream.routerFailed(UNREWRITABLE);
      return;
    }
    upstream.path = path;
    upstream.authority = upstreamAuthority(route, view);
    upstream.headers = view.headers;
    prepareUpstreamHeaders(view, stream.scope, ctx.hcm, stream.peer);
    if (action.hashPolicy.length > 0) {
      const hashRequest = new ViewHashRequest(view, stream.peer);
      const hash = requestHashKey(action.hashPolicy, hashRequest);
      if (hash !== undefined) this.pick.hash = hash;
      this.sticky = missingStickyCookie(action.hashPolicy, hashRequest);
    }
    this.chunks = chunks;
    const noBody = body === undefined;
    if (body !== undefined) upstream.body = body;
    this.timeoutMs = action.timeoutMs;
    const grpcTimeout = grpc ? parseGrpcTimeout(headerGet(view.headers, 'grpc-timeout')) : undefined;
    if (grpcTimeout !== undefined && (this.timeoutMs === 0 || grpcTimeout < this.timeoutMs)) {
      this.timeoutMs = grpcTimeout;
      this.startGlobalTimer();
    } else if (this.timeoutMs > 0) {
      if (noBody) this.startGlobalTimer();
      else {
        // The request is complete when the client's body ends (a streamed remainder ends with it).
        (original as Readable & Carrier)[kRouter] = this;
        (original as Readable).once('end', onRequestEnd);
      }
    }
    if (route.retry === undefined) {
      this.startAttempt();
      return;
    }
    this.retryClass = retryClassOf(view.method, grpc);
    if (noBody || readFirst) {
      // Bodiless, held whole (replayable), or read past the bound and streamed (sent once, never retried).
      this.retry = new RetryState(route.retry, this.cluster, noBody, ctx.stats, this.retryClass);
      this.startAttempt();
      return;
    }
    // A retriable gRPC call: its body is buffered for replays within the bound.
    this.cancelBuffering = bufferBody(
      body as Readable,
      declaredLength(view),
      (read) => this.bodyBuffered(read),
      ctx.bufferLimitBytes,
    );
  }

  /**
   * A retriable request's body was read: within the bound it is kept and replayed by every attempt (POSTs only on
   * failures that never reached the app, gRPC calls on their status conditions: RetryClass); beyond it, it is
   * streamed once and the request is not retried.
   */
  private bodyBuffered(body: BufferedBody): void {
    this.cancelBuffering = undefined;
    if (body.replayable) this.heldBytes = body.held;
    if (this.stream.done) {
      this.releaseBody();
      return;
    }
    if (body.replayable) this.chunks = body.chunks;
    else this.upstream.body = body.stream;
    const policy = this.route.retry;
    if (policy !== undefined)
      this.retry = new RetryState(policy, this.cluster, body.replayable, this.ctx.stats, this.retryClass);
    this.startAttempt();
  }

  // ---- attempts -------------------------------------------------------------------------------------------------

  private startAttempt(): void {
    const { cluster, stream } = this;
    const host = cluster.pick(this.pick);
    if (host === undefined) {
      stream.routerFailed({ status: 503, body: 'no healthy upstream', flags: ResponseFlag.NoHealthyUpstream });
      return;
    }
    cluster.stats.upstreamRequests++;
    this.ctx.stats.inc(this.cnames.rqTotal);
    const attempts = ++stream.attempts;
    this.attemptOpen = true;
    stream.upstreamHost = host;
    this.obs?.attemptStart(host, attempts, this.upstream.headers);
    const perTry = this.retry?.perTryTimeoutMs ?? 0;
    if (perTry > 0) this.tryTimer = setTimeout(onTryTimeout, perTry, this);
    const chunks = this.chunks;
    if (chunks !== undefined) this.upstream.body = replayBody(chunks);
    const attempt = createAttempt(this, this.ctx.pools, cluster, host, this.upstream);
    this.attempt = attempt;
    this.attemptStartMs = performance.now();
    attempt.start();
    // Copies to shadow clusters go with the first attempt only, after it (they never delay it).
    const mirrors = this.route.action?.mirrors;
    if (mirrors !== undefined && attempts === 1) {
      const streamed = chunks === undefined && this.upstream.body !== null;
      mirrorRequest(this.ctx, mirrors, this.upstream, chunks, streamed, this.timeoutMs);
    }
  }

  /** One outcome of an attempt for outlier detection (HTTP never reports 'success': a 2xx status says it). */
  private recordOutlier(attempt: UpstreamAttempt, result: OutlierResult): void {
    this.cluster.recordResult?.(attempt.host, result);
  }

  onUpstreamHeaders(attempt: UpstreamAttempt, status: number, headers: HeaderList, endStream: boolean): boolean {
    if (attempt !== this.attempt) return false;
    this.clearTryTimer();
    const { ctx, stream } = this;
    const now = performance.now();
    stream.markActive();
    recordLatency(attempt.host, now - this.attemptStartMs, now);
    this.cnames.response(ctx.stats, status);
    const grpc = stream.grpc;
    const grpcStatus = grpc ? grpcStatusOf(headerGet(headers, 'grpc-status')) : undefined;
    if (this.closeAttempt()) this.obs?.attemptEnd(attempt.host, { status, grpcStatus, headers });
    if (!grpc || status !== 200) this.recordOutlier(attempt, { status });
    else if (grpcStatus !== undefined) this.recordOutlier(attempt, { status: grpcOutlierStatus(grpcStatus) });
    else this.grpcPending = true;
    const retry = this.retry;
    if (retry?.retryResponse(status, grpcStatus)) {
      this.grpcPending = false;
      this.scheduleRetry(retry, attempt);
      return false;
    }
    const scope = stream.scope;
    const table = scope.table;
    const list = sanitizeUpstreamHeaders(headers, table === undefined ? NONE : table.internalOnlyHeaders);
    finalizeResponseHeaders(list, scope, ctx.hcm);
    if (this.sticky !== undefined) list.push('set-cookie', stickySetCookie(this.sticky, attempt.host));
    // A response that ends with its head needs nothing more of the attempt.
    if (endStream) this.attempt = undefined;
    return stream.encodeHeaders(status, list, endStream, grpcStatus);
  }

  onUpstreamData(attempt: UpstreamAttempt, chunk: Buffer): boolean {
    if (attempt !== this.attempt) return true;
    this.stream.markActive();
    return this.stream.encodeData(chunk);
  }

  onUpstreamEnd(attempt: UpstreamAttempt, trailers: HeaderList | undefined, last?: Buffer): void {
    if (attempt !== this.attempt) return;
    this.attempt = undefined;
    const stream = this.stream;
    if (this.grpcPending) {
      this.grpcPending = false;
      const grpcStatus = trailers === undefined ? undefined : grpcStatusOf(headerGet(trailers, 'grpc-status'));
      this.recordOutlier(attempt, { status: grpcOutlierStatus(grpcStatus) });
    }
    if (stream.grpc && trailers !== undefined && stream.grpcStatus === undefined)
      stream.grpcStatus = grpcStatusOf(headerGet(trailers, 'grpc-status'));
    const table = stream.scope.table;
    if (trailers !== undefined)
      sanitizeUpstreamHeaders(trailers, table === undefined ? NONE : table.internalOnlyHeaders);
    stream.encodeTrailers(trailers, last);
  }

  onUpstreamError(attempt: UpstreamAttempt, error: AttemptError): void {
    if (attempt !== this.attempt) return;
    this.attempt = undefined;
    this.clearTryTimer();
    if (this.closeAttempt()) this.obs?.attemptEnd(attempt.host, { error, overloadCause: attempt.overflowCause });
    if (error === 'reset' || error === 'refused-stream') this.ctx.stats.inc(this.cnames.rqReset);
    const started = this.stream.responseStarted;
    const outlier = this.grpcPending || !started ? OUTLIER_FAILURES[error] : undefined;
    this.grpcPending = false;
    if (outlier !== undefined) this.recordOutlier(attempt, outlier);
    const retry = this.retry;
    if (retry !== undefined && !started && isRetriable(error) && retry.retryFailure(error)) {
      this.scheduleRetry(retry, attempt);
      return;
    }
    if (error === 'overflow') this.stream.routerOverloaded(attempt.overflowCause ?? 'max_pending_requests', undefined);
    else if (retry?.overflowed === true) this.stream.routerOverloaded('max_retries', FAILURE_REPLIES[error]);
    else this.stream.routerFailed(FAILURE_REPLIES[error]);
  }

  private scheduleRetry(retry: RetryState, previous: UpstreamAttempt): void {
    this.attempt = undefined;
    this.ctx.stats.inc(this.cnames.rqRetry);
    const delay = retry.next(previous.host);
    this.pick.avoid = retry.avoid;
    this.backoffTimer = setTimeout(onBackoff, delay, this);
  }

  /**
   * True once per attempt: the first of its outcomes (response head, error, timeout, downstream close) is what the
   * observer hears; a failure after the head reaches it through the stream's end (reset, flags).
   */
  private closeAttempt(): boolean {
    if (!this.attemptOpen) return false;
    this.attemptOpen = false;
    return true;
  }

  // ---- what the stream asks -------------------------------------------------------------------------------------

  /** The client can take more of the response body. */
  resume(): void {
    this.attempt?.resume();
  }

  /**
   * The stream ends the attempt in flight (a stream timeout, the client went away): the observer hears `error` when it
   * has not heard of this attempt yet (undefined: it hears nothing).
   */
  abort(error: 'timeout' | 'reset' | undefined): void {
    this.grpcPending = false;
    const attempt = this.attempt;
    if (attempt === undefined) return;
    this.attempt = undefined;
    if (error !== undefined && this.closeAttempt()) this.obs?.attemptEnd(attempt.host, { error });
    attempt.cancel();
  }

  /** Gives back everything the request holds: timers, the attempt, the request and retry slots, a buffered body. */
  release(): void {
    this.clearTryTimer();
    if (this.globalTimer !== undefined) clearTimeout(this.globalTimer);
    if (this.backoffTimer !== undefined) clearTimeout(this.backoffTimer);
    this.globalTimer = this.backoffTimer = undefined;
    const attempt = this.attempt;
    if (attempt !== undefined) {
      this.attempt = undefined;
      attempt.cancel();
    }
    if (this.acquired) {
      this.acquired = false;
      this.cluster.releaseRequest();
      clusterRequestEnded(this.cluster);
    }
    this.retry?.release();
    this.releaseBody();
  }

  private releaseBody(): void {
    releaseBodyHold(this);
  }

  // ---- timers ---------------------------------------------------------------------------------------------------

  startGlobalTimer(): void {
    if (this.stream.done || this.globalTimer !== undefined) return;
    this.globalTimer = setTimeout(onGlobalTimeout, this.timeoutMs, this);
  }

  retryNow(): void {
    this.backoffTimer = undefined;
    if (!this.stream.done) this.startAttempt();
  }

  tryTimedOut(): void {
    this.tryTimer = undefined;
    const attempt = this.attempt;
    if (attempt === undefined || this.stream.done) return;
    this.ctx.stats.inc(this.cnames.rqPerTryTimeout);
    attempt.host.stats.failures++;
    attempt.cancel();
    this.onUpstreamError(attempt, 'timeout');
  }

  globalTimedOut(): void {
    this.globalTimer = undefined;
    const stream = this.stream;
    if (stream.done) return;
    this.ctx.stats.inc(this.cnames.rqTimeout);
    const attempt = this.attempt;
    if (attempt !== undefined && (!stream.responseStarted || this.grpcPending))
      this.recordOutlier(attempt, { localOrigin: 'timeout' });
    this.abort('timeout');
    stream.deadlineExceeded();
  }

  private clearTryTimer(): void {
    if (this.tryTimer !== undefined) {
      clearTimeout(this.tryTimer);
      this.tryTimer = undefined;
    }
  }
}

/** The request's declared Content-Length, when it has a valid one. */
export function declaredLength(view: RequestView): number | undefined {
  const length = Number(headerGet(view.headers, 'content-length') ?? Number.NaN);
  return Number.isFinite(length) ? length : undefined;
}

function onRequestEnd(this: Readable): void {
  const router = (this as Carrier)[kRouter];
  (this as Carrier)[kRouter] = undefined;
  router?.startGlobalTimer();
}

function onTryTimeout(router: RouterRequest): void {
  router.tryTimedOut();
}

function onGlobalTimeout(router: RouterRequest): void {
  router.globalTimedOut();
}

function onBackoff(router: RouterRequest): void {
  router.retryNow();
}
