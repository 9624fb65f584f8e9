// The spans of one sampled request: a SERVER span on inbound listeners, a CLIENT span per upstream attempt.
import type {
  AttemptOutcome,
  ExchangeSummary,
  ObservedRequest,
  RequestObserver,
} from '../../http/context/exchange-observer.ts';
import type { HeaderList } from '../../http/message/header-list.ts';
import type { CompiledRoute } from '../../http/routing/route-table.ts';
import type { Host } from '../../upstream/host/host.ts';
import { newSpanId } from './ids.ts';
import { injectContext } from './propagation.ts';
import { ProxySpan, SpanKind, type SpanScope } from './proxy-span.ts';
import {
  ATTR_RESPONSE_FLAGS,
  setAttemptAttributes,
  setOutcomeAttributes,
  setRequestAttributes,
  setRouteAttributes,
  setServerAttributes,
  setSummaryAttributes,
  setTrailerGrpcStatus,
} from './span-attributes.ts';
import type { SpanContext } from './span-context.ts';

/** What a request trace needs from its listener: where spans go, the span scope and the listener's shape. */
export interface TraceOwner {
  readonly scope: SpanScope;
  /** 'ingress' or 'egress'. */
  readonly direction: string;
  /** Inbound listener: the request gets a SERVER span. */
  readonly server: boolean;
  /** Make a CLIENT span per upstream attempt (inbound: Envoy's spawn_upstream_span). */
  readonly clientSpans: boolean;
  peerService(cluster: string): string;
  export(span: ProxySpan): void;
}

export class RequestTrace implements RequestObserver {
  private readonly owner: TraceOwner;
  private readonly request: ObservedRequest;
  private readonly traceId: string;
  /** The incoming context (undefined: this request started the trace). */
  private readonly parent: SpanContext | undefined;
  private readonly serverSpan: ProxySpan | undefined;
  /** The current attempt's span; ended when the next attempt starts or the request ends. */
  private client: ProxySpan | undefined;
  private clientEnded = false;
  private name: string;
  private routeName = '';
  private cluster = '';
  private peer = '';

  constructor(owner: TraceOwner, request: ObservedRequest, parent: SpanContext | undefined, traceId: string) {
    this.owner = owner;
    this.request = request;
    this.parent = parent;
    this.traceId = traceId;
    this.name = request.view.method;
    if (owner.server) {
      const span = this.span(
        SpanKind.SERVER,
        this.parentId(),
        parent !== undefined && parent.spanId !== '',
        request.startMs,
      );
      setServerAttributes(span, request);
      this.serverSpan = span;
    } else {
      this.serverSpan = undefined;
    }
  }

  routed(route: CompiledRoute | undefined, cluster: string | undefined): void {
    this.routeName = route?.name ?? '';
    this.cluster = cluster ?? '';
    this.peer = this.cluster === '' ? '' : this.owner.peerService(this.cluster);
    this.name = this.request.view.method + ' ' + (this.routeName === '' ? this.request.view.path : this.routeName);
    const server = this.serverSpan;
    if (server !== undefined) {
      server.name = this.name;
      setRouteAttributes(server, this.routeName, this.cluster, '');
    }
  }

  attemptStart(host: Host, attempt: number, headers: HeaderList): void {
    const owner = this.owner;
    const server = this.serverSpan;
    if (!owner.clientSpans && server !== undefined) {
      if (attempt === 1) this.inject(headers, server.spanId, server.parentId);
      return;
    }
    this.finishClient();
    const parentId = server === undefined ? this.parentId() : server.spanId;
    const span = this.span(SpanKind.CLIENT, parentId, server === undefined && parentId !== '', performance.now());
    setRouteAttributes(span, this.routeName, this.cluster, this.peer);
    setAttemptAttributes(span, host, attempt);
    this.client = span;
    this.clientEnded = false;
    this.inject(headers, span.spanId, parentId);
  }

  attemptEnd(_host: Host, outcome: AttemptOutcome): void {
    const span = this.client;
    if (span === undefined || this.clientEnded) return;
    setOutcomeAttributes(span, outcome);
    span.endMs = performance.now();
    // A failed attempt is over; a response keeps its span open until the body is through (end()).
    if ('error' in outcome) this.clientEnded = true;
  }

  end(summary: ExchangeSummary): void {
    const client = this.client;
    const server = this.serverSpan;
    if (client !== undefined) {
      if (!this.clientEnded) {
        client.endMs = summary.endMs;
        if (summary.flags !== '') client.attributes[ATTR_RESPONSE_FLAGS] = summary.flags;
        setTrailerGrpcStatus(client, summary.grpcStatus);
        if (summary.reset && client.status.code === 0) client.fail('stream reset');
      }
      this.finishClient();
    } else if (server === undefined) {
      // An outbound request answered locally (no route, no healthy host, breaker): one client span says so.
      const span = this.span(SpanKind.CLIENT, this.parentId(), this.parentId() !== '', summary.startMs);
      setRouteAttributes(span, this.routeName, this.cluster, this.peer);
      setSummaryAttributes(span, summary, false);
      span.endMs = summary.endMs;
      this.owner.export(span);
    }
    if (server !== undefined) {
      setSummaryAttributes(server, summary, true);
      server.endMs = summary.endMs;
      this.owner.export(server);
    }
  }

  private parentId(): string {
    return this.parent === undefined ? '' : this.parent.spanId;
  }

  private span(kind: SpanKind, parentId: string, parentRemote: boolean, startMs: number): ProxySpan {
    const owner = this.owner;
    const span = new ProxySpan(
      owner.scope,
      kind,
      this.name,
      this.traceId,
      newSpanId(),
      parentId,
      parentRemote,
      startMs,
    );
    setRequestAttributes(span, this.request, owner.direction);
    return span;
  }

  private finishClient(): void {
    const span = this.client;
    if (span === undefined) return;
    this.client = undefined;
    if (span.endMs === 0) span.endMs = performance.now();
    this.owner.export(span);
  }

  private inject(headers: HeaderList, spanId: string, parentId: string): void {
    injectContext(headers, this.parent?.format, this.traceId, spanId, true, parentId);
  }
}
