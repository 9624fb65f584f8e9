// What observers (access logs, metrics, tracing) see of a WebSocket upgrade or a CONNECT tunnel: one request from its
// head until the downstream side closes, routed like any other, with its one upstream attempt and the bytes spliced.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Host } from '../../upstream/host/host.ts';
import type {
  AttemptOutcome,
  ExchangeSummary,
  ObservedRequest,
  RequestObserver,
} from '../context/exchange-observer.ts';
import type { HttpContext } from '../context/http-context.ts';
import type { HeaderList } from '../message/header-list.ts';
import type { LocalReply } from '../message/reply.ts';
import type { RequestView } from '../message/request-view.ts';
import type { ResponseScope } from '../routing/response-headers.ts';

export class TunnelObservation implements ObservedRequest, ExchangeSummary {
  readonly view: RequestView;
  readonly peer: string;
  readonly downstream: Socket;
  readonly isH2: boolean;
  readonly startMs = performance.now();
  status = 0;
  grpcStatus: number | undefined = undefined;
  flags = '';
  routeName = '';
  cluster = '';
  virtualHost: string | undefined = undefined;
  upstreamHost: Host | undefined = undefined;
  attempts = 0;
  bytesReceived = 0;
  bytesSent = 0;
  reset = false;
  endMs = 0;
  #observer: RequestObserver | undefined;
  #attemptOpen = false;

  private constructor(view: RequestView, peer: string, downstream: Socket, isH2: boolean) {
    this.view = view;
    this.peer = peer;
    this.downstream = downstream;
    this.isH2 = isH2;
  }

  /** Starts observing a tunnel's request; undefined when nothing observes this listener (the cheap path). */
  static begin(
    ctx: HttpContext,
    view: RequestView,
    peer: string,
    downstream: Socket,
    isH2: boolean,
    stream: Duplex,
  ): TunnelObservation | undefined {
    const observer = ctx.observer;
    if (observer === undefined) return undefined;
    const t = new TunnelObservation(view, peer, downstream, isH2);
    t.#observer = observer.begin(t);
    if (t.#observer === undefined) return undefined;
    stream.once('close', () => t.end());
    return t;
  }

  get startTime(): number {
    return performance.timeOrigin + this.startMs;
  }

  /** Routing chose a route (and a cluster) or none. */
  routed(scope: ResponseScope, cluster: string | undefined): void {
    this.routeName = scope.route?.name ?? '';
    this.virtualHost = scope.vhost?.name;
    this.cluster = cluster ?? '';
    this.#observer?.routed(scope.route, cluster);
  }

  /** The one attempt goes to `host` with the upstream request headers (an observer may add trace context). */
  attemptStarted(host: Host, headers: HeaderList): void {
    this.attempts = 1;
    this.upstreamHost = host;
    this.#attemptOpen = true;
    this.#observer?.attemptStart(host, 1, headers);
  }

  /** The attempt's outcome: the upstream's answer (101, 200 for CONNECT, or a refusal) or an error. */
  attemptEnded(outcome: AttemptOutcome): void {
    if (!this.#attemptOpen || this.upstreamHost === undefined) return;
    this.#attemptOpen = false;
    this.#observer?.attemptEnd(this.upstreamHost, outcome);
  }

  /** What the client was sent: the status (and flags of a local reply). */
  responded(status: number, reply?: LocalReply): void {
    // The client may have gone before the upstream answered: the request was reported as it ended.
    if (this.#observer === undefined) return;
    this.status = status;
    if (reply !== undefined) this.flags = reply.flags;
  }

  /**
   * Counts what the client sends from now on (called as the splice starts: a 'data' listener any earlier would
   * switch the stream to flowing before anything reads it).
   */
  countReceived(stream: Duplex): void {
    stream.on('data', (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
    });
  }

  /** Bytes the client sent that were read with the head (relayed before the splice). */
  received(bytes: number): void {
    this.bytesReceived += bytes;
  }

  /** Bytes relayed to the client (a spliced chunk). */
  sent(bytes: number): void {
    this.bytesSent += bytes;
  }

  /** The downstream side closed: the request is over (once). */
  end(): void {
    const observer = this.#observer;
    if (observer === undefined) return;
    this.#observer = undefined;
    if (this.#attemptOpen && this.upstreamHost !== undefined) {
      this.#attemptOpen = false;
      observer.attemptEnd(this.upstreamHost, { error: 'reset' });
    }
    if (this.status === 0) this.reset = true;
    this.endMs = performance.now();
    observer.end(this);
  }
}
