// One downstream request through the router: route, circuit breaker, attempts with retries and timeouts, streamed response.

import type { Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { HashPolicy, RateLimitSpec } from '../config/model.ts';
import type { Cluster } from '../upstream/cluster.ts';
import type { Host } from '../upstream/host/host.ts';
import { recordLatency } from '../upstream/host/latency.ts';
import { missingStickyCookie, requestHashKey, stickySetCookie } from '../upstream/lb/hash-key.ts';
import type { PickContext } from '../upstream/lb/load-balancer.ts';
import type { OutlierResult } from '../upstream/outlier/outlier-detector.ts';
import { FAILURE_REPLIES, grpcOutlierStatus, isRetriable, OUTLIER_FAILURES } from './attempt-outcome.ts';
import {
  type DownstreamRequest,
  type DownstreamResponse,
  endWithTrailers,
  h2StreamGone,
  requestBody,
  resetDownstream,
  sendHead,
  writeChunk,
} from './codec/downstream.ts';
import type { Admittable } from './codec/h2-session-guard.ts';
import { type ClusterStatNames, clusterStatNames } from './codec/http-stats.ts';
import { idleSweeper } from './codec/idle-sweeper.ts';
import type { ExchangeSummary, ObservedRequest, RequestObserver } from './exchange-observer.ts';
import { type BodyPipeSink, ResponseBodyPipe } from './filter/body-pipe.ts';
import { FilterRun, type FilterSink } from './filter/chain.ts';
import type { BodyTransform, ResponseHead } from './filter/filter.ts';
import type { ConnectionBound, HttpContext } from './http-context.ts';
import { type LocalReply, ResponseFlag, sendLocalReply, UNREWRITABLE } from './local-reply.ts';
import { trustedClientAddress } from './message/forwarded-headers.ts';
import { GrpcStatus, grpcStatusForHttp, grpcStatusOf, isGrpcContentType, parseGrpcTimeout } from './message/grpc.ts';
import { type HeaderList, headerGet, headerHas } from './message/header-list.ts';
import { type BufferedBody, bufferBody, replayBody, requestBufferBudget } from './message/replayable-body.ts';
import type { RequestView } from './message/request-view.ts';
import { mirrorRequest } from './mirror.ts';
import { createAttempt, type UpstreamRequest } from './pool/create-attempt.ts';
import type { AttemptError, AttemptSink, OverloadCause, UpstreamAttempt } from './pool/upstream-attempt.ts';
import { clusterRequestEnded, clusterRequestStarted, RetryState } from './retry-state.ts';
import { overloadReply, type RoutedRequest, resolveRoute, streamIdleMs } from './route-request.ts';
import { ViewHashRequest } from './routing/hash-policy.ts';
import { finalizeResponseHeaders, type ResponseScope, sanitizeUpstreamHeaders } from './routing/response-headers.ts';
import { type AttemptFailure, type RetryClass, retryClassOf } from './routing/retry-policy.ts';
import { prepareUpstreamHeaders, upstreamAuthority, upstreamPath } from './routing/router.ts';

const kExchange = Symbol('exchange');
const kIdle = Symbol('idle');
const kRequestTimer = Symbol('requestTimer');
const NONE: readonly string[] = [];
const NO_RATE_LIMITS: readonly RateLimitSpec[] = [];
const NO_SCOPE: ResponseScope = { table: undefined, vhost: undefined, route: undefined };

interface Carrier {
  [kExchange]?: Exchange | undefined;
}

/** The request body's link to its exchange's request_timeout timer. */
interface RequestTimerCarrier {
  [kRequestTimer]?: Exchange | undefined;
}

/** The request body's link to its exchange's idle timer and byte count (apart from kExchange, which 'end' clears). */
interface IdleCarrier {
  [kIdle]?: Exchange | undefined;
}

export class Exchange
  implements AttemptSink, ConnectionBound, ObservedRequest, ExchangeSummary, Admittable, FilterSink, BodyPipeSink
{
  private readonly ctx: HttpContext;
  private readonly req: DownstreamRequest;
  private readonly res: DownstreamResponse;
  /** The request body stream (undefined for bodiless requests). */
  private body: Readable | undefined;
  readonly view: RequestView;
  readonly isH2: boolean;
  readonly downstream: Socket;
  readonly peer: string;
  private scope: ResponseScope = NO_SCOPE;
  private clusterRef: Cluster | undefined;
  private cnames: ClusterStatNames | undefined;
  private readonly upstream: UpstreamRequest = { method: '', path: '', authority: '', headers: [], body: null };
  private grpc = false;
  private retry: RetryState | undefined;
  private retryClass: RetryClass = 'idempotent';
  private readonly pick: PickContext = {};
  /** A sticky-session cookie policy the client has no cookie for yet: the response sets it for the picked host. */
  private sticky: HashPolicy | undefined;
  private attempt: UpstreamAttempt | undefined;
  /** performance.now() when the current attempt started (latency for least-response-time). */
  private attemptStartMs = 0;
  /** A gRPC response whose outcome (grpc-status in the trailers) outlier detection has yet to hear. */
  private grpcPending = false;
  /** A body held whole (every attempt sends a fresh stream of it). */
  private bodyChunks: readonly Buffer[] | undefined;
  /** Bytes of requestBufferBudget that bodyChunks hold, given back when the exchange ends. */
  private heldBytes = 0;
  /** The body was read (up to the bound) before routing. */
  private readFirst = false;
  /** Stops a body read in progress (the request ended first). */
  private cancelBuffering: (() => void) | undefined;
  private timeoutMs = 0;
  private globalTimer: NodeJS.Timeout | undefined;
  private tryTimer: NodeJS.Timeout | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  /** HCM request_timeout, running until the request body has arrived. */
  private requestTimer: NodeJS.Timeout | undefined;
  /** Stream idle limit (route idle_timeout, else the HCM's stream_idle_timeout), watched by idleSweeper; 0 = none. */
  idleMs = 0;
  /** Coarse time of the last byte either way (idleSweeper.now; read by idleSweeper). */
  lastActiveMs = 0;
  /** idleSweeper's slot for this exchange (-1 = not tracked). */
  idleSlot = -1;
  /** Observation of this request (tracing, access log, metrics), when the listener has an observer. */
  private obs: RequestObserver | undefined;
  attempts = 0;
  /** The current attempt has not been reported to the observer as ended yet (attemptEnd: once per attempt). */
  private attemptOpen = false;
  // What observers read (the exchange is its own ObservedRequest and ExchangeSummary: no per-request copies).
  startMs = 0;
  endMs = 0;
  upstreamHost: Host | undefined;
  status = 0;
  grpcStatus: number | undefined;
  flags = '';
  overloadCause: OverloadCause | undefined;
  bytesReceived = 0;
  bytesSent = 0;
  reset = false;
  /** The request body is watched (idle timer or byte count). */
  private bodyWatched = false;
  private acquired = false;
  private responseStarted = false;
  private drainHooked = false;
  private done = false;
  /** The HTTP filters' pass over this request (when the connection manager has filters). */
  private filterRun: FilterRun | undefined;
  /** A request a filter holds (a delay): routed and forwarded when the filters are done. */
  private held: { body: Readable | undefined } | undefined;
  /** Response flags HTTP filters added (DI): kept next to whatever flag the request ends with. */
  private filterFlags = '';
  /** The response body's way through the filters' transforms (a compressor), when a filter installed one. */
  private bodyPipe: ResponseBodyPipe | undefined;

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
    this.downstream = req.socket as Socket;
  }

  /** Wall-clock start (ms since the epoch), derived from the monotonic start: no Date.now() per request. */
  get startTime(): number {
    return performance.timeOrigin + this.startMs;
  }

  get routeName(): string {
    return this.scope.route?.name ?? '';
  }

  get virtualHost(): string {
    return this.scope.vhost?.name ?? '';
  }

  get cluster(): string {
    return this.clusterRef?.name ?? '';
  }

  /** An HTTP/2 stream the client reset (or left) before the exchange ran. */
  gone(): boolean {
    return this.isH2 && h2StreamGone(this.res as Http2ServerResponse);
  }

  run(): void {
    const { ctx, view } = this;
    (this.res as Carrier)[kExchange] = this;
    ctx.activeRequests++;
    if (!this.isH2) ctx.requestStarted(this.downstream, this);
    else this.res.on('close', onResponseClose);
    const observer = ctx.observer;
    if (observer !== undefined) {
      this.startMs = performance.now();
      this.obs = observer.begin(this);
    }
    this.grpc = isGrpcContentType(headerGet(view.headers, 'content-type'));
    const body = requestBody(this.req, this.isH2);
    if (body === undefined) {
      this.route(undefined);
      return;
    }
    this.body = body;
    const requestMs = ctx.hcm.requestTimeoutMs;
    if (requestMs > 0) {
      // HCM request_timeout: the whole request, body included, must arrive within it.
      this.requestTimer = setTimeout(onRequestTimeout, requestMs, this);
      (body as RequestTimerCarrier)[kRequestTimer] = this;
      body.once('end', onRequestComplete);
    }
    if (this.grpc && this.isH2) {
      // gRPC streams are interactive (a client may wait for replies before sending more): never held back. (gRPC
      // is HTTP/2 only: an HTTP/1.1 request that says application/grpc is read like any other.)
      this.route(body);
      return;
    }
    // Read the body (up to the bound) before anything upstream is held: a client trickling its body costs a
    // downstream stream and some memory, never an upstream connection or a breaker slot.
    const idleMs = ctx.hcm.streamIdleTimeoutMs;
    if (idleMs > 0) {
      this.idleMs = idleMs;
      idleSweeper.track(this);
    }
    this.watchBody();
    this.readFirst = true;
    this.cancelBuffering = bufferBody(
      body,
      declaredLength(view),
      (read) => this.bodyRead(read),
      ctx.bufferLimitBytes,
      requestBufferBudget,
      false,
    );
  }

  /** The body was read before routing: whole (kept, replayable, sent from memory) or too large (streamed on). */
  private bodyRead(read: BufferedBody): void {
    this.cancelBuffering = undefined;
    if (read.replayable) {
      this.heldBytes = read.held;
      this.bodyChunks = read.chunks;
    }
    if (this.done) {
      this.releaseBody();
      return;
    }
    this.route(read.replayable ? undefined : read.stream);
  }

  /**
   * Routes, runs the HTTP filters (if any), then forwards; `body` is the body still to stream (undefined: none, or held
   * whole). The router's own refusals (no route, redirect, direct response, no cluster, overload) come after the
   * filters, as in Envoy: a rate limit holds a flood of unrouted requests too.
   */
  private route(body: Readable | undefined): void {
    const { ctx, view } = this;
    const routed = resolveRoute(ctx, view, undefined);
    this.scope = routed.scope;
    const refused = 'reply' in routed;
    this.obs?.routed(refused ? routed.scope.route : routed.route, refused ? undefined : routed.cluster.name);
    const filters = ctx.filters;
    if (filters !== undefined && !(refused && routed.beforeFilters === true)) {
      const { route, vhost } = routed.scope;
      const run = new FilterRun(
        filters,
        view,
        this.grpc,
        {
          forwarding: route?.action !== undefined,
          perFilterConfig: route?.perFilterConfig,
          vhostPerFilterConfig: vhost?.perFilterConfig,
          rateLimits: route?.action?.rateLimits ?? vhost?.rateLimits ?? NO_RATE_LIMITS,
          clientAddress: trustedClientAddress(view.headers, this.peer, ctx.hcm),
          body: () => this.bodyChunks,
          replaceBody: (replacement) => {
            if (this.bodyChunks === undefined) return false;
            this.bodyChunks = [replacement];
            return true;
          },
          bufferLimitBytes: ctx.bufferLimitBytes,
        },
        this,
      );
      this.filterRun = run;
      if (!run.start()) {
        // A filter holds the request or answered it. As Envoy's router, a request takes its cluster's request slot
        // only when the filters are done: this one gives it back, and after a hold it is routed afresh (the cluster
        // may have changed meanwhile) in filtersDone.
        if (!refused) routed.cluster.releaseRequest();
        if (!this.done) this.held = { body };
        return;
      }
    }
    if (refused) this.reply(routed.reply);
    else this.forward(routed, body);
  }

  /** Every HTTP filter handed the held request on. */
  filtersDone(): void {
    const held = this.held;
    this.held = undefined;
    if (held !== undefined && !this.done) this.routeAfterFilters(held.body);
  }

  /** Routes again (idempotent path preparation, a fresh cluster pick and request slot) and forwards. */
  private routeAfterFilters(body: Readable | undefined): void {
    const routed = resolveRoute(this.ctx, this.view, undefined);
    this.scope = routed.scope;
    if ('reply' in routed) {
      this.reply(routed.reply);
      return;
    }
    this.forward(routed, body);
  }

  /** An HTTP filter answered the request. */
  filterReplied(reply: LocalReply): void {
    this.held = undefined;
    if (!this.done) this.reply(reply);
  }

  /** A filter's response flag (e.g. DI): reported with any the request ends with. */
  addFlag(flag: string): void {
    this.filterFlags = withFlag(this.filterFlags, flag);
    this.flags = withFlag(this.flags, flag);
  }

  /** Acquires the routed cluster and starts the first attempt. */
  private forward(routed: RoutedRequest, body: Readable | undefined): void {
    const { ctx, view } = this;
    const { route, action, cluster } = routed;
    this.clusterRef = cluster;
    this.cnames = clusterStatNames(cluster.name);
    this.acquired = true;
    clusterRequestStarted(cluster);
    const upstream = this.upstream;
    upstream.method = view.method;
    const path = upstreamPath(route, view);
    if (path === undefined) {
      this.reply(UNREWRITABLE);
      return;
    }
    upstream.path = path;
    upstream.authority = upstreamAuthority(route, view);
    upstream.headers = view.headers;
    prepareUpstreamHeaders(view, this.scope, ctx.hcm, this.peer);
    if (action.hashPolicy.length > 0) {
      const hashRequest = new ViewHashRequest(view, this.peer);
      const hash = requestHashKey(action.hashPolicy, hashRequest);
      if (hash !== undefined) this.pick.hash = hash;
      this.sticky = missingStickyCookie(action.hashPolicy, hashRequest);
    }
    const noBody = body === undefined;
    if (body !== undefined) upstream.body = body;
    const idleMs = streamIdleMs(ctx, action);
    if (idleMs !== this.idleMs) {
      if (this.idleMs !== 0) idleSweeper.untrack(this);
      this.idleMs = idleMs;
      if (idleMs > 0) idleSweeper.track(this);
    }
    if (!noBody && !this.bodyWatched && (idleMs > 0 || this.obs !== undefined)) this.watchBody();
    this.timeoutMs = action.timeoutMs;
    const grpcTimeout = this.grpc ? parseGrpcTimeout(headerGet(view.headers, 'grpc-timeout')) : undefined;
    if (grpcTimeout !== undefined && (this.timeoutMs === 0 || grpcTimeout < this.timeoutMs)) {
      this.timeoutMs = grpcTimeout;
      this.startGlobalTimer();
    } else if (this.timeoutMs > 0) {
      if (noBody) this.startGlobalTimer();
      else {
        // The request is complete when the client's body ends (a streamed remainder ends with it).
        const original = this.body as Readable;
        (original as Carrier)[kExchange] = this;
        original.once('end', onRequestEnd);
      }
    }
    if (route.retry === undefined) {
      this.startAttempt();
      return;
    }
    this.retryClass = retryClassOf(view.method, this.grpc);
    if (noBody || this.readFirst) {
      // Bodiless, held whole (replayable), or read past the bound and streamed (sent once, never retried).
      this.retry = new RetryState(route.retry, cluster, noBody, ctx.stats, this.retryClass);
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
    if (this.done) {
      this.releaseBody();
      return;
    }
    const policy = this.scope.route?.retry;
    if (body.replayable) this.bodyChunks = body.chunks;
    else this.upstream.body = body.stream;
    if (policy !== undefined)
      this.retry = new RetryState(policy, this.clusterRef as Cluster, body.replayable, this.ctx.stats, this.retryClass);
    this.startAttempt();
  }

  // ---- attempts -------------------------------------------------------------------------------------------------

  private startAttempt(): void {
    const cluster = this.clusterRef as Cluster;
    const cnames = this.cnames as ClusterStatNames;
    const host = cluster.pick(this.pick);
    if (host === undefined) {
      this.fail({ status: 503, body: 'no healthy upstream', flags: ResponseFlag.NoHealthyUpstream });
      return;
    }
    cluster.stats.upstreamRequests++;
    this.ctx.stats.inc(cnames.rqTotal);
    this.attempts++;
    this.attemptOpen = true;
    this.upstreamHost = host;
    this.obs?.attemptStart(host, this.attempts, this.upstream.headers);
    const perTry = this.retry?.perTryTimeoutMs ?? 0;
    if (perTry > 0) this.tryTimer = setTimeout(onTryTimeout, perTry, this);
    if (this.bodyChunks !== undefined) this.upstream.body = replayBody(this.bodyChunks);
    const attempt = createAttempt(this, this.ctx.pools, cluster, host, this.upstream);
    this.attempt = attempt;
    this.attemptStartMs = performance.now();
    attempt.start();
    // Copies to shadow clusters go with the first attempt only, after it (they never delay it).
    const mirrors = this.scope.route?.action?.mirrors;
    if (mirrors !== undefined && this.attempts === 1) {
      const streamed = this.bodyChunks === undefined && this.upstream.body !== null;
      mirrorRequest(this.ctx, mirrors, this.upstream, this.bodyChunks, streamed, this.timeoutMs);
    }
  }

  /** One outcome of an attempt for outlier detection (HTTP never reports 'success': a 2xx status says it). */
  private recordOutlier(attempt: UpstreamAttempt, result: OutlierResult): void {
    (this.clusterRef as Cluster).recordResult?.(attempt.host, result);
  }

  onUpstreamHeaders(attempt: UpstreamAttempt, status: number, headers: HeaderList, endStream: boolean): boolean {
    if (attempt !== this.attempt) return false;
    this.clearTryTimer();
    const { ctx } = this;
    const now = performance.now();
    if (this.idleMs !== 0) this.lastActiveMs = idleSweeper.now;
    recordLatency(attempt.host, now - this.attemptStartMs, now);
    (this.cnames as ClusterStatNames).response(ctx.stats, status);
    const grpcStatus = this.grpc ? grpcStatusOf(headerGet(headers, 'grpc-status')) : undefined;
    if (this.closeAttempt()) this.obs?.attemptEnd(attempt.host, { status, grpcStatus, headers });
    if (!this.grpc || status !== 200) this.recordOutlier(attempt, { status });
    else if (grpcStatus !== undefined) this.recordOutlier(attempt, { status: grpcOutlierStatus(grpcStatus) });
    else this.grpcPending = true;
    const retry = this.retry;
    if (retry?.retryResponse(status, grpcStatus)) {
      this.grpcPending = false;
      this.scheduleRetry(retry, attempt);
      return false;
    }
    const table = this.scope.table;
    const list = sanitizeUpstreamHeaders(headers, table === undefined ? NONE : table.internalOnlyHeaders);
    finalizeResponseHeaders(list, this.scope, ctx.hcm);
    if (this.sticky !== undefined) list.push('set-cookie', stickySetCookie(this.sticky, attempt.host));
    // Without filters (the fast path) nothing is allocated here.
    const run = this.filterRun;
    const head = run === undefined ? undefined : { status, headers: list };
    const plan = run === undefined ? undefined : run.responseHeaders(head as ResponseHead, endStream);
    const transforms = plan?.transforms;
    const replaced = plan?.replaced;
    if (head !== undefined) status = head.status;
    // A filter that replaced the body (a cache answering a 304) ends the response with it; the upstream's is dropped.
    const headEnds = replaced === undefined ? endStream : replaced.length === 0 && transforms === undefined;
    const sent = sendHead(this.res, this.isH2, status, list, headEnds, ctx.draining);
    if (sent !== 'sent') {
      if (transforms !== undefined) for (const t of transforms) t.destroy();
      attempt.cancel();
      this.attempt = undefined;
      if (sent === 'gone') this.downstreamClosed();
      else
        this.reply({
          status: 502,
          body: 'invalid upstream response headers',
          flags: ResponseFlag.UpstreamProtocolError,
        });
      return false;
    }
    this.responseStarted = true;
    this.status = status;
    this.grpcStatus = grpcStatus;
    ctx.names.response(ctx.stats, status);
    if (replaced !== undefined) {
      this.attempt = undefined;
      // Whatever the upstream still sends is not needed (a 5xx body under stale-if-error): the attempt is reset
      // rather than left reading a body nobody waits for.
      if (!endStream) attempt.cancel();
      this.sendReplacement(replaced, transforms);
      return endStream;
    }
    if (endStream) {
      this.attempt = undefined;
      this.finish();
      return true;
    }
    if (transforms !== undefined) this.bodyPipe = new ResponseBodyPipe(transforms, this.res, this);
    if (!this.isH2 && !headerHas(list, 'content-length')) {
      // Streaming bodies (chunked, SSE) must not wait for their first chunk to show the head.
      (this.res as { flushHeaders(): void }).flushHeaders();
    }
    return true;
  }

  /** A filter's whole body instead of the upstream's, through the transforms of the filters before it. */
  private sendReplacement(body: Buffer, transforms: BodyTransform[] | undefined): void {
    if (transforms !== undefined) {
      const pipe = new ResponseBodyPipe(transforms, this.res, this);
      this.bodyPipe = pipe;
      pipe.end(body, undefined);
      return;
    }
    if (body.length > 0) {
      this.bytesSent += body.length;
      endWithTrailers(this.res, undefined, body);
    }
    this.finish();
  }

  onUpstreamData(attempt: UpstreamAttempt, chunk: Buffer): boolean {
    if (attempt !== this.attempt) return true;
    if (this.idleMs !== 0) this.lastActiveMs = idleSweeper.now;
    const pipe = this.bodyPipe;
    if (pipe !== undefined) return pipe.write(chunk);
    this.bytesSent += chunk.length;
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
    if (this.grpcPending) {
      this.grpcPending = false;
      const grpcStatus = trailers === undefined ? undefined : grpcStatusOf(headerGet(trailers, 'grpc-status'));
      this.recordOutlier(attempt, { status: grpcOutlierStatus(grpcStatus) });
    }
    if (this.grpc && trailers !== undefined && this.grpcStatus === undefined)
      this.grpcStatus = grpcStatusOf(headerGet(trailers, 'grpc-status'));
    const table = this.scope.table;
    if (trailers !== undefined)
      sanitizeUpstreamHeaders(trailers, table === undefined ? NONE : table.internalOnlyHeaders);
    const pipe = this.bodyPipe;
    if (pipe !== undefined) {
      // The response is complete when the transforms have written their last bytes (pipeEnded).
      pipe.end(last, trailers);
      return;
    }
    if (last !== undefined) this.bytesSent += last.length;
    endWithTrailers(this.res, trailers, last);
    this.finish();
  }

  // ---- the response body through filter transforms (BodyPipeSink) ---------------------------------------------

  pipeDrained(): void {
    this.attempt?.resume();
  }

  pipeWritten(bytes: number): void {
    this.bytesSent += bytes;
    if (this.idleMs !== 0) this.lastActiveMs = idleSweeper.now;
  }

  pipeBlocked(): void {
    if (this.drainHooked) return;
    this.drainHooked = true;
    this.res.on('drain', onResponseDrain);
  }

  pipeEnded(): void {
    this.bodyPipe = undefined;
    this.finish();
  }

  /** A filter's transform failed mid-body: the client's response cannot be completed. */
  pipeFailed(): void {
    this.bodyPipe = undefined;
    if (this.done) return;
    const attempt = this.attempt;
    attempt?.cancel();
    this.attempt = undefined;
    this.resetDownstream('');
  }

  onUpstreamError(attempt: UpstreamAttempt, error: AttemptError): void {
    if (attempt !== this.attempt) return;
    this.attempt = undefined;
    this.clearTryTimer();
    if (this.closeAttempt()) this.obs?.attemptEnd(attempt.host, { error, overloadCause: attempt.overflowCause });
    const cnames = this.cnames as ClusterStatNames;
    if (error === 'reset' || error === 'refused-stream') this.ctx.stats.inc(cnames.rqReset);
    const outlier = this.grpcPending || !this.responseStarted ? OUTLIER_FAILURES[error] : undefined;
    this.grpcPending = false;
    if (outlier !== undefined) this.recordOutlier(attempt, outlier);
    const retry = this.retry;
    if (retry !== undefined && !this.responseStarted && isRetriable(error) && retry.retryFailure(error)) {
      this.scheduleRetry(retry, attempt);
      return;
    }
    if (error === 'overflow') this.failOverloaded(attempt.overflowCause ?? 'max_pending_requests', undefined);
    else if (retry?.overflowed === true) this.failOverloaded('max_retries', FAILURE_REPLIES[error]);
    else this.fail(FAILURE_REPLIES[error]);
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
    const attempt = this.attempt;
    if (attempt !== undefined && this.closeAttempt()) this.obs?.attemptEnd(attempt.host, { error: 'timeout' });
    if (attempt !== undefined && (!this.responseStarted || this.grpcPending))
      this.recordOutlier(attempt, { localOrigin: 'timeout' });
    this.grpcPending = false;
    attempt?.cancel();
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
      this.grpcStatus = GrpcStatus.DEADLINE_EXCEEDED;
      this.flags = withFlag(this.filterFlags, ResponseFlag.UpstreamRequestTimeout);
      this.finish();
      return;
    }
    this.resetDownstream(ResponseFlag.UpstreamRequestTimeout);
  }

  /**
   * Request body chunks mark activity for the idle timer (watched by the shared idleSweeper, as are response heads and
   * chunks) and are counted for observers, once the body flows: a 'data' listener added before a consumer would start
   * the stream early, so it waits for the body's 'resume'.
   */
  private watchBody(): void {
    const body = this.body as Readable;
    this.bodyWatched = true;
    (body as IdleCarrier)[kIdle] = this;
    if (body.readableFlowing === true) body.on('data', onRequestData);
    else body.once('resume', onRequestResume);
  }

  bodyData(bytes: number): void {
    this.bytesReceived += bytes;
    if (this.idleMs !== 0) this.lastActiveMs = idleSweeper.now;
  }

  /**
   * No bytes either way for the idle timeout: 504 SI while waiting on the upstream, a reset once the response
   * started; counts `http.<prefix>.downstream_rq_idle_timeout`.
   */
  idleTimedOut(): void {
    this.idleMs = 0;
    if (this.done) return;
    this.ctx.stats.inc(this.ctx.names.rqIdleTimeout);
    this.grpcPending = false;
    const attempt = this.attempt;
    if (attempt !== undefined) {
      if (this.closeAttempt()) this.obs?.attemptEnd(attempt.host, { error: 'timeout' });
      attempt.cancel();
    }
    this.attempt = undefined;
    if (!this.responseStarted) {
      // Still reading the request (nothing went upstream): the client is the slow one, 408 as Envoy answers.
      const status = this.cancelBuffering !== undefined && this.clusterRef === undefined ? 408 : 504;
      this.reply({ status, body: 'stream timeout', flags: ResponseFlag.StreamIdleTimeout });
      return;
    }
    this.resetDownstream(ResponseFlag.StreamIdleTimeout);
  }

  requestComplete(): void {
    if (this.requestTimer !== undefined) clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
  }

  /** The request did not arrive whole within request_timeout: 408 (a reset once a response started). */
  requestTimedOut(): void {
    this.requestTimer = undefined;
    if (this.done) return;
    this.ctx.stats.inc(this.ctx.names.rqTimeout);
    const attempt = this.attempt;
    if (attempt !== undefined) {
      if (this.closeAttempt()) this.obs?.attemptEnd(attempt.host, { error: 'timeout' });
      attempt.cancel();
    }
    this.attempt = undefined;
    this.grpcPending = false;
    if (!this.responseStarted) {
      this.reply({ status: 408, body: 'request timeout', flags: '' });
      return;
    }
    this.resetDownstream('');
  }

  private clearTryTimer(): void {
    if (this.tryTimer !== undefined) {
      clearTimeout(this.tryTimer);
      this.tryTimer = undefined;
    }
  }

  // ---- downstream -----------------------------------------------------------------------------------------------

  resumeUpstream(): void {
    // With a body pipe, the client's drain resumes the transforms; they resume the upstream (pipeDrained).
    const pipe = this.bodyPipe;
    if (pipe !== undefined) pipe.clientDrained();
    else this.attempt?.resume();
  }

  downstreamClosed(): void {
    if (this.done) return;
    const attempt = this.attempt;
    if (attempt !== undefined) {
      if (this.closeAttempt()) this.obs?.attemptEnd(attempt.host, { error: 'reset' });
      attempt.cancel();
    }
    this.attempt = undefined;
    this.reset = true;
    if (this.flags === this.filterFlags)
      this.flags = withFlag(this.filterFlags, ResponseFlag.DownstreamConnectionTermination);
    this.finish();
  }

  /** An upstream failure: a local reply when nothing was sent yet, else a reset of the downstream stream. */
  private fail(reply: LocalReply): void {
    if (!this.responseStarted) {
      this.reply(reply);
      return;
    }
    this.resetDownstream(reply.flags);
  }

  private resetDownstream(flags: string): void {
    resetDownstream(this.res, this.isH2, false);
    this.reset = true;
    this.flags = withFlag(this.filterFlags, flags);
    this.finish();
  }

  /** A breaker refused the request (or its retry): the reply names the cause (x-trellis-overload-cause). */
  private failOverloaded(cause: OverloadCause, reply: LocalReply | undefined): void {
    this.overloadCause = cause;
    const refused = overloadReply(this.scope, cause);
    if (!this.responseStarted) this.scope = refused.scope;
    this.fail(reply === undefined ? refused.reply : { ...reply, overloaded: true });
  }

  /**
   * True once per attempt: the first of its outcomes (response head, error, timeout, downstream close) is what the
   * observer hears; a failure after the head reaches it through end() (reset, flags).
   */
  private closeAttempt(): boolean {
    if (!this.attemptOpen) return false;
    this.attemptOpen = false;
    return true;
  }

  private reply(reply: LocalReply): void {
    this.responseStarted = true;
    // A filter's flag (an injected delay) stays next to the reply's.
    this.flags = withFlag(this.filterFlags, reply.flags);
    // What the client gets: gRPC local replies are HTTP 200 with the status in grpc-status and no body.
    if (this.grpc) {
      this.status = 200;
      this.grpcStatus = reply.grpcStatus ?? grpcStatusForHttp(reply.status);
    } else {
      this.status = reply.status;
      this.bytesSent += Buffer.byteLength(reply.body);
    }
    const run = this.filterRun;
    sendLocalReply(this.ctx, this.res, this.isH2, reply, this.scope, this.grpc, run && localReplyEncoder(run));
    this.finish();
  }

  /** Gives back what the body holds of the process-wide buffer budget (or stops reading it). */
  private releaseBody(): void {
    const cancel = this.cancelBuffering;
    if (cancel !== undefined) {
      this.cancelBuffering = undefined;
      cancel();
    }
    if (this.heldBytes > 0) {
      requestBufferBudget.give(this.heldBytes);
      this.heldBytes = 0;
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.held = undefined;
    if (this.bodyPipe !== undefined) {
      this.bodyPipe.destroy();
      this.bodyPipe = undefined;
    }
    this.filterRun?.destroy();
    this.ctx.activeRequests--;
    this.clearTryTimer();
    if (this.globalTimer !== undefined) clearTimeout(this.globalTimer);
    if (this.backoffTimer !== undefined) clearTimeout(this.backoffTimer);
    if (this.requestTimer !== undefined) {
      clearTimeout(this.requestTimer);
      this.requestTimer = undefined;
      (this.body as RequestTimerCarrier)[kRequestTimer] = undefined;
    }
    if (this.idleMs !== 0) {
      idleSweeper.untrack(this);
      this.idleMs = 0;
    }
    if (this.bodyWatched) (this.body as IdleCarrier)[kIdle] = undefined;
    this.globalTimer = this.backoffTimer = undefined;
    if (this.acquired) {
      this.acquired = false;
      (this.clusterRef as Cluster).releaseRequest();
      clusterRequestEnded(this.clusterRef as Cluster);
    }
    this.retry?.release();
    this.releaseBody();
    if (!this.isH2) this.ctx.requestFinished(this.downstream, this);
    const obs = this.obs;
    if (obs !== undefined) {
      this.endMs = performance.now();
      obs.end(this);
    }
  }
}

/** The filters' response-headers phase over a local reply's head. */
function localReplyEncoder(run: FilterRun): (status: number, headers: HeaderList) => void {
  return (status, headers) => run.localReplyHeaders(status, headers);
}

/** Flags joined as Envoy prints several (`DI,FI`); an empty one adds nothing. */
function withFlag(flags: string, flag: string): string {
  if (flag === '') return flags;
  return flags === '' ? flag : `${flags},${flag}`;
}

/** The request's declared Content-Length, when it has a valid one. */
function declaredLength(view: RequestView): number | undefined {
  const length = Number(headerGet(view.headers, 'content-length') ?? Number.NaN);
  return Number.isFinite(length) ? length : undefined;
}

function onResponseClose(this: DownstreamResponse): void {
  const ex = (this as Carrier)[kExchange];
  (this as Carrier)[kExchange] = undefined;
  ex?.downstreamClosed();
}

function onResponseDrain(this: DownstreamResponse): void {
  (this as Carrier)[kExchange]?.resumeUpstream();
}

function onRequestEnd(this: Readable): void {
  const ex = (this as Carrier)[kExchange];
  (this as Carrier)[kExchange] = undefined;
  ex?.startGlobalTimer();
}

function onRequestResume(this: Readable): void {
  if ((this as IdleCarrier)[kIdle] === undefined) return;
  this.on('data', onRequestData);
  (this as IdleCarrier)[kIdle]?.bodyData(0);
}

function onRequestData(this: Readable, chunk: Buffer): void {
  (this as IdleCarrier)[kIdle]?.bodyData(chunk.length);
}

function onRequestComplete(this: Readable): void {
  const ex = (this as RequestTimerCarrier)[kRequestTimer];
  (this as RequestTimerCarrier)[kRequestTimer] = undefined;
  ex?.requestComplete();
}

function onRequestTimeout(ex: Exchange): void {
  ex.requestTimedOut();
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
