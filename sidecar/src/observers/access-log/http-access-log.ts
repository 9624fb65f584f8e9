// Access logs of HTTP connection managers (an ExchangeObserverFactory): per listener, its `access_log` sinks with
// formats compiled once; per request, a sampling draw at begin (nothing observed when no sink draws it) and one line
// per sink at end, after the status filter.

import { connectionIdOf, type DownstreamAddresses, downstreamAddresses } from '../../common/connection-id.ts';
import { type LogSource, traceIdOf } from '../../config/access-log-source.ts';
import type { HttpConnectionManagerConfig, ListenerConfig } from '../../config/model.ts';
import type {
  AttemptOutcome,
  ExchangeObserver,
  ExchangeObserverFactory,
  ExchangeSummary,
  ObservedRequest,
  RequestObserver,
} from '../../http/context/exchange-observer.ts';
import { type HeaderList, headerGet } from '../../http/message/header-list.ts';
import type { CompiledRoute } from '../../http/routing/route-table.ts';
import type { Host } from '../../upstream/host/host.ts';
import { type AccessLogSink, compileSinks, sampleSinks, writeLine } from './access-log-sink.ts';
import type { LogWriters } from './log-writers.ts';

class HttpAccessLog implements ExchangeObserver {
  readonly sinks: readonly AccessLogSink[];

  constructor(sinks: readonly AccessLogSink[]) {
    this.sinks = sinks;
  }

  begin(request: ObservedRequest): RequestObserver | undefined {
    const mask = sampleSinks(this.sinks);
    return mask === 0 ? undefined : new HttpLogRequest(this, request, mask);
  }
}

/** One sampled request: collects the response headers, then is the LogSource its lines are rendered from. */
class HttpLogRequest implements RequestObserver, LogSource {
  private readonly log: HttpAccessLog;
  private readonly request: ObservedRequest;
  private readonly mask: number;
  private summary: ExchangeSummary | undefined = undefined;
  private responseHeaders: HeaderList | undefined = undefined;
  /** Read at the start, while the connection is surely open. */
  private readonly addresses: DownstreamAddresses;
  readonly connectionId: number;

  constructor(log: HttpAccessLog, request: ObservedRequest, mask: number) {
    this.log = log;
    this.request = request;
    this.mask = mask;
    this.addresses = downstreamAddresses(request.downstream);
    this.connectionId = connectionIdOf(request.downstream);
  }

  routed(_route: CompiledRoute | undefined, _cluster: string | undefined): void {}

  attemptStart(_host: Host, _attempt: number, _headers: HeaderList): void {}

  attemptEnd(_host: Host, outcome: AttemptOutcome): void {
    if ('status' in outcome) this.responseHeaders = outcome.headers;
  }

  end(summary: ExchangeSummary): void {
    this.summary = summary;
    const sinks = this.log.sinks;
    for (let i = 0; i < sinks.length; i++) {
      if ((this.mask & (1 << i)) !== 0) writeLine(sinks[i] as AccessLogSink, this, summary.status);
    }
  }

  private get s(): ExchangeSummary {
    return this.summary as ExchangeSummary;
  }

  get startTime(): number {
    return this.s.startTime;
  }
  get durationMs(): number {
    return this.s.endMs - this.s.startMs;
  }
  get protocol(): string {
    return this.request.isH2 ? 'HTTP/2' : 'HTTP/1.1';
  }
  get responseCode(): number {
    return this.s.status;
  }
  get flags(): string {
    return this.s.flags;
  }
  get bytesReceived(): number {
    return this.s.bytesReceived;
  }
  get bytesSent(): number {
    return this.s.bytesSent;
  }
  get upstreamHost(): string | undefined {
    return this.s.upstreamHost?.key;
  }
  get upstreamCluster(): string | undefined {
    return this.s.cluster === '' ? undefined : this.s.cluster;
  }
  get downstreamRemoteAddress(): string | undefined {
    return this.addresses.remote;
  }
  get downstreamLocalAddress(): string | undefined {
    return this.addresses.local;
  }
  get downstreamPeerUriSan(): string | undefined {
    return this.addresses.peerUri;
  }
  get downstreamLocalUriSan(): string | undefined {
    return this.addresses.localUri;
  }
  get routeName(): string {
    return this.s.routeName;
  }
  get grpcStatus(): number | undefined {
    return this.s.grpcStatus;
  }
  get attempts(): number {
    return this.s.attempts;
  }

  requestHeader(name: string): string | undefined {
    return this.request.view.header(name);
  }

  responseHeader(name: string): string | undefined {
    return this.responseHeaders === undefined ? undefined : headerGet(this.responseHeaders, name);
  }

  traceId(): string | undefined {
    return traceIdOf(headerGet(this.request.view.headers, 'traceparent'));
  }
}

/** The HTTP access log observers: one per listener that configures `access_log`, none (zero cost) otherwise. */
export class HttpAccessLogs implements ExchangeObserverFactory {
  private readonly writers: LogWriters;

  constructor(writers: LogWriters) {
    this.writers = writers;
  }

  forHttp(listener: ListenerConfig, hcm: HttpConnectionManagerConfig): ExchangeObserver | undefined {
    if (hcm.accessLogs.length === 0) return undefined;
    const sinks = compileSinks(hcm.accessLogs, 'http', this.writers, `listener ${listener.name} access_log`);
    return new HttpAccessLog(sinks);
  }
}
