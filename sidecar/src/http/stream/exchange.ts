// One downstream request through the connection manager (Envoy's active stream): its lifecycle, the request body
// read before routing, the HTTP filters, stream timeouts, local replies, and the response written through the codec's
// encoder; the router's side (attempts, retries, route timeouts) is router-request.ts.

import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { downstreamConnectionOf } from '../../common/downstream-connection.ts';
import type { RateLimitSpec } from '../../config/model.ts';
import type { Host } from '../../upstream/host/host.ts';
import type { DownstreamEncoder, DownstreamEvents } from '../codec/downstream.ts';
import type { Admittable } from '../codec/h2-session-guard.ts';
import { idleSweeper } from '../codec/idle-sweeper.ts';
import type { ExchangeSummary, ObservedRequest, RequestObserver } from '../context/exchange-observer.ts';
import type { HttpContext } from '../context/http-context.ts';
import { type BodyPipeSink, ResponseBodyPipe } from '../filter/body-pipe.ts';
import { FilterRun, type FilterSink } from '../filter/chain.ts';
import { type BodyTransform, RequestBodyError, type ResponseHead } from '../filter/filter.ts';
import { applyConnectionClientCert } from '../message/client-cert-header.ts';
import { trustedClientAddress } from '../message/forwarded-headers.ts';
import { GrpcStatus, grpcStatusForHttp, isGrpcContentType } from '../message/grpc.ts';
import { type HeaderList, headerGet } from '../message/header-list.ts';
import { type BufferedBody, bufferBody, releaseBodyHold, requestBufferBudget } from '../message/replayable-body.ts';
import { type LocalReply, ResponseFlag } from '../message/reply.ts';
import type { RequestView } from '../message/request-view.ts';
import type { OverloadCause } from '../pool/upstream-attempt.ts';
import { overloadReply, type RoutedRequest, resolveRoute, streamIdleMs } from '../router/route-request.ts';
import { declaredLength, RouterRequest, type RouterStream } from '../router/router-request.ts';
import type { ResponseScope } from '../routing/response-headers.ts';
import { sendLocalReply } from './local-reply.ts';

const kIdle = Symbol('idle');
const kRequestTimer = Symbol('requestTimer');
const NO_RATE_LIMITS: readonly RateLimitSpec[] = [];
const NO_SCOPE: ResponseScope = { table: undefined, vhost: undefined, route: undefined };

/** The request body's link to its exchange's request_timeout timer. */
interface RequestTimerCarrier {
  [kRequestTimer]?: Exchange | undefined;
}

/** The request body's link to its exchange's idle timer and byte count. */
interface IdleCarrier {
  [kIdle]?: Exchange | undefined;
}

export class Exchange
  implements DownstreamEvents, ObservedRequest, ExchangeSummary, Admittable, FilterSink, BodyPipeSink, RouterStream
{
  readonly ctx: HttpContext;
  private readonly enc: DownstreamEncoder;
  /** The request body stream (undefined for bodiless requests). */
  private body: Readable | undefined;
  readonly view: RequestView;
  readonly downstream: Socket;
  readonly peer: string;
  readonly grpc: boolean;
  scope: ResponseScope = NO_SCOPE;
  /** The router's side, once the request was routed to a cluster. */
  private router: RouterRequest | undefined;
  /** A body held whole (the router replays it for every attempt). */
  private bodyChunks: readonly Buffer[] | undefined;
  /** Bytes of requestBufferBudget that bodyChunks hold, given back when the exchange ends. */
  heldBytes = 0;
  /** The body was read (up to the bound) before routing. */
  private readFirst = false;
  /** Stops a body read in progress (the request ended first). */
  cancelBuffering: (() => void) | undefined;
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
  // What observers read (the exchange is its own ObservedRequest and ExchangeSummary: no per-request copies); the
  // router writes attempts, upstreamHost and grpcStatus.
  attempts = 0;
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
  responseStarted = false;
  done = false;
  /** The HTTP filters' pass over this request (when the connection manager has filters). */
  private filterRun: FilterRun | undefined;
  /** A request a filter holds (a delay): routed and forwarded when the filters are done. */
  private held: { body: Readable | undefined } | undefined;
  /** Response flags HTTP filters added (DI): kept next to whatever flag the request ends with. */
  private filterFlags = '';
  /** The response body's way through the filters' transforms (a compressor), when a filter installed one. */
  private bodyPipe: ResponseBodyPipe | undefined;

  constructor(ctx: HttpContext, enc: DownstreamEncoder, view: RequestView, peer: string) {
    this.ctx = ctx;
    this.enc = enc;
    this.view = view;
    this.peer = peer;
    this.downstream = enc.socket;
    this.grpc = isGrpcContentType(headerGet(view.headers, 'content-type'));
  }

  get isH2(): boolean {
    return this.view.isH2;
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
    return this.router?.cluster.name ?? '';
  }

  get upstreamAddress(): string | undefined {
    return this.upstreamHost?.key;
  }

  get durationMs(): number {
    return this.endMs - this.startMs;
  }

  /** The client reset (or left) before the exchange ran. */
  gone(): boolean {
    return this.enc.gone();
  }

  run(): void {
    const { ctx, view, enc } = this;
    ctx.activeRequests++;
    // X-Forwarded-Client-Cert before anything reads the headers (filters, routes): a caller's verified identity, or
    // none (a client's own XFCC is dropped unless the mode trusts it).
    applyConnectionClientCert(view.headers, this.downstream, ctx.hcm.forwardClientCert);
    enc.attach(this, ctx);
    const observer = ctx.observer;
    if (observer !== undefined || ctx.filters !== undefined) this.startMs = performance.now();
    if (observer !== undefined) this.obs = observer.begin(this);
    const body = enc.requestBody();
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
    if (this.grpc && enc.fullDuplex) {
      // gRPC streams are interactive (a client may wait for replies before sending more): never held back. (gRPC
      // needs HTTP/2: an HTTP/1.1 request that says application/grpc is read like any other.)
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
          connection: downstreamConnectionOf(this.downstream),
          body: () => this.bodyChunks,
          replaceBody: (replacement) => {
            if (this.bodyChunks === undefined) return false;
            this.bodyChunks = [replacement];
            return true;
          },
          bodyStreams: body !== undefined,
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

  /** Hands the request to the router: the route's idle timeout replaces the connection manager's, then attempts. */
  private forward(routed: RoutedRequest, body: Readable | undefined): void {
    const idleMs = streamIdleMs(this.ctx, routed.action);
    if (idleMs !== this.idleMs) {
      if (this.idleMs !== 0) idleSweeper.untrack(this);
      this.idleMs = idleMs;
      if (idleMs > 0) idleSweeper.track(this);
    }
    if (body !== undefined && !this.bodyWatched && (idleMs > 0 || this.obs !== undefined)) this.watchBody();
    const transforms = this.filterRun?.requestTransforms;
    if (body !== undefined && transforms !== undefined) body = this.transformRequest(body, transforms);
    const router = new RouterRequest(this, routed, this.obs);
    this.router = router;
    router.forward(routed, body, this.bodyChunks, this.body, this.readFirst);
  }

  /**
   * The filters' request body transforms over a streaming body, piped with backpressure; a transform that fails
   * answers 400 (or its RequestBodyError status) and resets the upstream request. FilterRun.destroy releases them.
   */
  private transformRequest(body: Readable, transforms: readonly BodyTransform[]): Readable {
    let out = body;
    for (const t of transforms) {
      const next = t.stream();
      next.once('error', (err: Error) => this.requestBodyFailed(err));
      out.pipe(next);
      out = next;
    }
    return out;
  }

  private requestBodyFailed(err: Error): void {
    if (this.done) return;
    this.router?.abort(undefined);
    if (this.responseStarted) {
      this.resetDownstream(ResponseFlag.DownstreamProtocolError);
      return;
    }
    const status = err instanceof RequestBodyError ? err.status : 400;
    this.reply({ status, body: 'invalid request body', flags: ResponseFlag.DownstreamProtocolError });
  }

  // ---- the response, from the router (RouterStream) -------------------------------------------------------------

  markActive(): void {
    if (this.idleMs !== 0) this.lastActiveMs = idleSweeper.now;
  }

  encodeHeaders(status: number, headers: HeaderList, endStream: boolean, grpcStatus: number | undefined): boolean {
    const { ctx } = this;
    // Without filters (the fast path) nothing is allocated here.
    const run = this.filterRun;
    const head = run === undefined ? undefined : { status, headers };
    const plan = run === undefined ? undefined : run.responseHeaders(head as ResponseHead, endStream);
    const transforms = plan?.transforms;
    const replaced = plan?.replaced;
    if (head !== undefined) status = head.status;
    // A filter that replaced the body (a cache answering a 304) ends the response with it; the upstream's is dropped.
    const headEnds = replaced === undefined ? endStream : replaced.length === 0 && transforms === undefined;
    const sent = this.enc.head(status, headers, headEnds, ctx.draining);
    if (sent !== 'sent') {
      if (transforms !== undefined) for (const t of transforms) t.destroy();
      this.router?.abort(undefined);
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
      // Whatever the upstream still sends is not needed (a 5xx body under stale-if-error): the attempt is reset
      // rather than left reading a body nobody waits for.
      this.router?.abort(undefined);
      this.sendReplacement(replaced, transforms);
      return endStream;
    }
    if (endStream) {
      this.finish();
      return true;
    }
    if (transforms !== undefined) this.bodyPipe = new ResponseBodyPipe(transforms, this.enc, this);
    // Streaming bodies (chunked, SSE) must not wait for their first chunk to show the head.
    this.enc.showHead(headers);
    return true;
  }

  /** A filter's whole body instead of the upstream's, through the transforms of the filters before it. */
  private sendReplacement(body: Buffer, transforms: BodyTransform[] | undefined): void {
    if (transforms !== undefined) {
      const pipe = new ResponseBodyPipe(transforms, this.enc, this);
      this.bodyPipe = pipe;
      pipe.end(body, undefined);
      return;
    }
    if (body.length > 0) {
      this.bytesSent += body.length;
      this.enc.end(undefined, body);
    }
    this.finish();
  }

  encodeData(chunk: Buffer): boolean {
    const pipe = this.bodyPipe;
    if (pipe !== undefined) return pipe.write(chunk);
    this.bytesSent += chunk.length;
    if (this.enc.write(chunk)) return true;
    this.enc.waitDrain();
    return false;
  }

  encodeTrailers(trailers: HeaderList | undefined, last: Buffer | undefined): void {
    if (trailers !== undefined) this.filterRun?.responseTrailers(trailers);
    const pipe = this.bodyPipe;
    if (pipe !== undefined) {
      // The response is complete when the transforms have written their last bytes (pipeEnded).
      pipe.end(last, trailers);
      return;
    }
    if (last !== undefined) this.bytesSent += last.length;
    this.enc.end(trailers, last);
    this.finish();
  }

  routerFailed(reply: LocalReply): void {
    if (!this.responseStarted) {
      this.reply(reply);
      return;
    }
    this.resetDownstream(reply.flags);
  }

  /** A breaker refused the request (or its retry): the reply names the cause (x-trellis-overload-cause). */
  routerOverloaded(cause: OverloadCause, reply: LocalReply | undefined): void {
    this.overloadCause = cause;
    const refused = overloadReply(this.scope, cause);
    if (!this.responseStarted) this.scope = refused.scope;
    this.routerFailed(reply === undefined ? refused.reply : { ...reply, overloaded: true });
  }

  /** The route timeout: 504 before the response, gRPC DEADLINE_EXCEEDED trailers on a started call, else a reset. */
  deadlineExceeded(): void {
    if (!this.responseStarted) {
      const deadline = this.grpc ? { grpcStatus: GrpcStatus.DEADLINE_EXCEEDED } : {};
      this.reply({
        status: 504,
        body: 'upstream request timeout',
        flags: ResponseFlag.UpstreamRequestTimeout,
        ...deadline,
      });
      return;
    }
    if (this.grpc && this.enc.fullDuplex) {
      this.enc.end(['grpc-status', String(GrpcStatus.DEADLINE_EXCEEDED), 'grpc-message', 'deadline exceeded']);
      this.grpcStatus = GrpcStatus.DEADLINE_EXCEEDED;
      this.flags = withFlag(this.filterFlags, ResponseFlag.UpstreamRequestTimeout);
      this.finish();
      return;
    }
    this.resetDownstream(ResponseFlag.UpstreamRequestTimeout);
  }

  // ---- the response body through filter transforms (BodyPipeSink) ---------------------------------------------

  pipeDrained(): void {
    this.router?.resume();
  }

  pipeWritten(bytes: number): void {
    this.bytesSent += bytes;
    this.markActive();
  }

  pipeBlocked(): void {
    this.enc.waitDrain();
  }

  pipeEnded(): void {
    this.bodyPipe = undefined;
    this.finish();
  }

  /** A filter's transform failed mid-body: the client's response cannot be completed. */
  pipeFailed(): void {
    this.bodyPipe = undefined;
    if (this.done) return;
    this.router?.abort(undefined);
    this.resetDownstream('');
  }

  // ---- stream timers --------------------------------------------------------------------------------------------

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
    this.markActive();
  }

  /**
   * No bytes either way for the idle timeout: 504 SI while waiting on the upstream, a reset once the response
   * started; counts `http.<prefix>.downstream_rq_idle_timeout`.
   */
  idleTimedOut(): void {
    this.idleMs = 0;
    if (this.done) return;
    this.ctx.stats.inc(this.ctx.names.rqIdleTimeout);
    this.router?.abort('timeout');
    if (!this.responseStarted) {
      // Still reading the request (nothing went upstream): the client is the slow one, 408 as Envoy answers.
      const status = this.cancelBuffering !== undefined && this.router === undefined ? 408 : 504;
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
    this.router?.abort('timeout');
    if (!this.responseStarted) {
      this.reply({ status: 408, body: 'request timeout', flags: '' });
      return;
    }
    this.resetDownstream('');
  }

  // ---- downstream (DownstreamEvents) ----------------------------------------------------------------------------

  resumeUpstream(): void {
    // With a body pipe, the client's drain resumes the transforms; they resume the upstream (pipeDrained).
    const pipe = this.bodyPipe;
    if (pipe !== undefined) pipe.clientDrained();
    else this.router?.resume();
  }

  downstreamClosed(): void {
    if (this.done) return;
    this.router?.abort('reset');
    this.reset = true;
    if (this.flags === this.filterFlags)
      this.flags = withFlag(this.filterFlags, ResponseFlag.DownstreamConnectionTermination);
    this.finish();
  }

  private resetDownstream(flags: string): void {
    this.enc.reset(false);
    this.reset = true;
    this.flags = withFlag(this.filterFlags, flags);
    this.finish();
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
    sendLocalReply(this.ctx, this.enc, reply, this.scope, this.grpc, run && localReplyEncoder(run));
    this.finish();
  }

  /** Gives back what the body holds of the process-wide buffer budget (or stops reading it). */
  private releaseBody(): void {
    releaseBodyHold(this);
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.held = undefined;
    if (this.bodyPipe !== undefined) {
      this.bodyPipe.destroy();
      this.bodyPipe = undefined;
    }
    this.ctx.activeRequests--;
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
    this.router?.release();
    this.releaseBody();
    this.enc.detach(this, this.ctx);
    const obs = this.obs;
    const run = this.filterRun;
    if (obs !== undefined || run !== undefined) this.endMs = performance.now();
    if (run !== undefined) {
      run.log(this);
      run.destroy();
    }
    obs?.end(this);
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
