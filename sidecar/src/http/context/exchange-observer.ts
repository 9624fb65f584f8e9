// What watches a request through the router (tracing, access logs, metrics): small hooks the exchange calls.
import type { Socket } from 'node:net';
import type { HttpConnectionManagerConfig, ListenerConfig } from '../../config/model.ts';
import type { Host } from '../../upstream/host/host.ts';
import type { HeaderList } from '../message/header-list.ts';
import type { RequestView } from '../message/request-view.ts';
import type { AttemptError, OverloadCause } from '../pool/upstream-attempt.ts';
import type { CompiledRoute } from '../routing/route-table.ts';

/** The request as it arrived, before routing (view.headers is the list the app / upstream will get). */
export interface ObservedRequest {
  readonly view: RequestView;
  /** The downstream peer IP. */
  readonly peer: string;
  /** The downstream connection (HTTP/2: the session's socket). */
  readonly downstream: Socket;
  readonly isH2: boolean;
  /** Wall-clock (ms since the epoch) and performance.now() when the exchange began. */
  readonly startTime: number;
  readonly startMs: number;
}

/**
 * How one upstream attempt ended: a response head (status, grpc-status when it came with the head, and the response
 * headers as received, for access logs' %RESP(…)%) or an error.
 */
export type AttemptOutcome =
  | { status: number; grpcStatus?: number | undefined; headers?: HeaderList | undefined }
  | { error: AttemptError; overloadCause?: OverloadCause | undefined };

/** The request as it ended. */
export interface ExchangeSummary {
  /** The status sent downstream (0 when the client went away before any response). */
  status: number;
  /** grpc-status from the response head or trailers, when the request was gRPC and one was seen. */
  grpcStatus?: number | undefined;
  /** Envoy response flags ('UF', 'UO', 'NR', …), '' when none. */
  flags: string;
  /** The route name ('' when none matched) and the cluster the router picked ('' when none). */
  routeName: string;
  cluster: string;
  /** The virtual host the route belongs to ('' when none matched); per-route stats are keyed by vhost and route. */
  virtualHost?: string | undefined;
  /** The host of the last attempt, when there was one. */
  upstreamHost: Host | undefined;
  /** Attempts made (0 for local replies); attempts - 1 retries. */
  attempts: number;
  /** Request body bytes read from the client, response body bytes sent to it. */
  bytesReceived: number;
  bytesSent: number;
  /** Overload (breaker) cause when a circuit breaker refused the request. */
  overloadCause?: OverloadCause | undefined;
  /** The downstream stream was reset (upstream failure after the response began, timeout, client went away). */
  reset: boolean;
  /** performance.now() when the exchange began and when it ended (duration = endMs - startMs). */
  startMs: number;
  endMs: number;
  /** Wall-clock time (ms since the epoch) when the exchange began. */
  readonly startTime: number;
}

/** Per-request hooks, in order: routed → (attemptStart → attemptEnd)* → end. end is called exactly once. */
export interface RequestObserver {
  /** Routing chose a route (undefined: none, a local reply follows) and a cluster (undefined for direct responses). */
  routed(route: CompiledRoute | undefined, cluster: string | undefined): void;
  /**
   * An attempt is about to go to `host` (attempt counts from 1). `headers` is the request's upstream header list,
   * shared by every attempt: an observer may set headers on it (trace context) before the attempt is sent.
   */
  attemptStart(host: Host, attempt: number, headers: HeaderList): void;
  attemptEnd(host: Host, outcome: AttemptOutcome): void;
  end(summary: ExchangeSummary): void;
}

/** Watches the requests of one HTTP connection manager. */
export interface ExchangeObserver {
  /** A request arrived; undefined means this observer has nothing to do for it (the cheap path). */
  begin(request: ObservedRequest): RequestObserver | undefined;
}

/** Makes the observer of one HTTP listener (undefined when it needs none); a sidecar holds a list of these. */
export interface ExchangeObserverFactory {
  forHttp(listener: ListenerConfig, hcm: HttpConnectionManagerConfig): ExchangeObserver | undefined;
}

class Fanout implements RequestObserver {
  private readonly list: RequestObserver[];
  constructor(list: RequestObserver[]) {
    this.list = list;
  }
  routed(route: CompiledRoute | undefined, cluster: string | undefined): void {
    for (const o of this.list) o.routed(route, cluster);
  }
  attemptStart(host: Host, attempt: number, headers: HeaderList): void {
    for (const o of this.list) o.attemptStart(host, attempt, headers);
  }
  attemptEnd(host: Host, outcome: AttemptOutcome): void {
    for (const o of this.list) o.attemptEnd(host, outcome);
  }
  end(summary: ExchangeSummary): void {
    for (const o of this.list) o.end(summary);
  }
}

class Combined implements ExchangeObserver {
  private readonly observers: readonly ExchangeObserver[];
  constructor(observers: readonly ExchangeObserver[]) {
    this.observers = observers;
  }
  begin(request: ObservedRequest): RequestObserver | undefined {
    let one: RequestObserver | undefined;
    let many: RequestObserver[] | undefined;
    for (const o of this.observers) {
      const r = o.begin(request);
      if (r === undefined) continue;
      if (one === undefined) one = r;
      else if (many === undefined) many = [one, r];
      else many.push(r);
    }
    return many === undefined ? one : new Fanout(many);
  }
}

/** The observer of one HTTP listener from every factory (undefined when none applies). */
export function observerFor(
  factories: readonly ExchangeObserverFactory[],
  listener: ListenerConfig,
  hcm: HttpConnectionManagerConfig,
): ExchangeObserver | undefined {
  const observers: ExchangeObserver[] = [];
  for (const f of factories) {
    const o = f.forHttp(listener, hcm);
    if (o !== undefined) observers.push(o);
  }
  if (observers.length === 0) return undefined;
  return observers.length === 1 ? observers[0] : new Combined(observers);
}
