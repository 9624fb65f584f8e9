// Tracing as an exchange observer: per listener, decide sampling first; unsampled requests only get a traceparent.
import type { HttpConnectionManagerConfig, ListenerConfig } from '../../config/model.ts';
import type {
  ExchangeObserver,
  ExchangeObserverFactory,
  ObservedRequest,
  RequestObserver,
} from '../../http/context/exchange-observer.ts';
import type { HeaderList } from '../../http/message/header-list.ts';
import { newSpanId, newTraceId } from './ids.ts';
import { extractContext, injectContext } from './propagation.ts';
import type { ProxySpan, SpanScope } from './proxy-span.ts';
import { RequestTrace, type TraceOwner } from './request-trace.ts';
import { ratioOf, shouldSample } from './sampler.ts';
import { peerServiceOf } from './span-attributes.ts';
import type { SpanContext } from './span-context.ts';

/** Where finished spans go: a BatchSpanProcessor in production. */
export interface SpanSink {
  onEnd(span: ProxySpan): void;
}

export interface TracingObserverOptions {
  sink: SpanSink;
  /** The span scope (resource) for a service name; called once per distinct name. */
  scopeFor(serviceName: string): SpanScope;
  /** The sidecar's service (default service name, and the peer.service of inbound clusters). */
  serviceName: string;
  /** Sampling percent for requests without a decision, unless the listener's HCM tracing sets one. */
  samplingPercent: number;
  random?: () => number;
}

/** One HTTP listener's tracer: the sampling ratio and span shape in force for it. */
class ListenerTracer implements ExchangeObserver, TraceOwner {
  readonly scope: SpanScope;
  readonly direction: string;
  readonly server: boolean;
  readonly clientSpans: boolean;
  private readonly ratio: number;
  private readonly sink: SpanSink;
  private readonly localService: string;
  private readonly random: () => number;
  private readonly peers = new Map<string, string>();

  constructor(options: TracingObserverOptions, listener: ListenerConfig, hcm: HttpConnectionManagerConfig) {
    const tracing = hcm.tracing;
    this.scope = options.scopeFor(tracing?.serviceName || options.serviceName);
    this.server = listener.direction === 'inbound';
    this.direction = this.server ? 'ingress' : 'egress';
    this.clientSpans = !this.server || tracing === undefined || tracing.spawnUpstreamSpan;
    this.ratio = ratioOf(tracing?.randomSamplingPercent ?? options.samplingPercent);
    this.sink = options.sink;
    this.localService = options.serviceName;
    this.random = options.random ?? Math.random;
  }

  begin(request: ObservedRequest): RequestObserver | undefined {
    const headers = request.view.headers;
    const parent = extractContext(headers);
    if (!shouldSample(parent, this.ratio, this.random)) {
      propagateUnsampled(headers, parent);
      return undefined;
    }
    const traceId = parent === undefined || parent.traceId === '' ? newTraceId() : parent.traceId;
    const context = parent === undefined || parent.spanId === '' ? undefined : parent;
    return new RequestTrace(this, request, context ?? decisionOnly(parent), traceId);
  }

  peerService(cluster: string): string {
    let peer = this.peers.get(cluster);
    if (peer === undefined) {
      peer = peerServiceOf(cluster, this.localService);
      if (this.peers.size < 1024) this.peers.set(cluster, peer);
    }
    return peer;
  }

  export(span: ProxySpan): void {
    this.sink.onEnd(span);
  }
}

/** A B3 decision without ids still says which header style the next hop expects. */
function decisionOnly(parent: SpanContext | undefined): SpanContext | undefined {
  if (parent === undefined || parent.format === 'w3c') return undefined;
  return { traceId: '', spanId: '', sampled: true, traceState: '', format: parent.format };
}

/**
 * The cheap path: an unsampled request keeps (or gets) a traceparent with flags 00 so the next hops agree; a W3C
 * parent is passed on untouched.
 */
function propagateUnsampled(headers: HeaderList, parent: SpanContext | undefined): void {
  if (parent !== undefined && parent.format === 'w3c') return;
  const traceId = parent === undefined || parent.traceId === '' ? newTraceId() : parent.traceId;
  const spanId = parent === undefined || parent.spanId === '' ? newSpanId() : parent.spanId;
  injectContext(headers, parent?.format, traceId, spanId, false, '');
}

/** Makes a tracer for every HTTP listener; the sidecar holds it in SidecarOptions.observers. */
export class TracingObserverFactory implements ExchangeObserverFactory {
  private readonly options: TracingObserverOptions;
  private readonly scopes = new Map<string, SpanScope>();

  constructor(options: TracingObserverOptions) {
    this.options = options;
  }

  forHttp(listener: ListenerConfig, hcm: HttpConnectionManagerConfig): ExchangeObserver {
    const scopeFor = (name: string): SpanScope => {
      let scope = this.scopes.get(name);
      if (scope === undefined) {
        scope = this.options.scopeFor(name);
        this.scopes.set(name, scope);
      }
      return scope;
    };
    return new ListenerTracer({ ...this.options, scopeFor }, listener, hcm);
  }
}
