// The span tree the tracing observer builds from the exchange hooks, per listener direction and sampling decision.

import { Socket } from 'node:net';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { expect } from 'chai';
import type { HttpConnectionManagerConfig, TracingConfig } from '../../config/model.ts';
import type { ExchangeSummary, ObservedRequest, RequestObserver } from '../../http/context/exchange-observer.ts';
import { headerGet } from '../../http/message/header-list.ts';
import { RequestView } from '../../http/message/request-view.ts';
import type { CompiledRoute } from '../../http/routing/route-table.ts';
import { hcmConfig, listenerConfig } from '../../http/test-config.ts';
import { type Host, newHostStats } from '../../upstream/host/host.ts';
import { type ProxySpan, SpanKind } from './proxy-span.ts';
import { TracingObserverFactory } from './tracing-observer.ts';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

function host(address: string, port: number): Host {
  return {
    key: `${address}:${port}`,
    address,
    port,
    weight: 1,
    zone: '',
    priority: 0,
    healthy: true,
    stats: newHostStats(),
  };
}

const ROUTE = { name: 'orders-route' } as CompiledRoute;

function setup(opts: { direction: 'inbound' | 'outbound'; sampling?: number; tracing?: TracingConfig }) {
  const spans: ProxySpan[] = [];
  const services: string[] = [];
  const factory = new TracingObserverFactory({
    sink: { onEnd: (s) => spans.push(s) },
    scopeFor: (name) => {
      services.push(name);
      return { resource: resourceFromAttributes({ 'service.name': name }), instrumentationScope: { name: 'test' } };
    },
    serviceName: 'web',
    samplingPercent: opts.sampling ?? 100,
  });
  const hcm: HttpConnectionManagerConfig = hcmConfig(opts.tracing === undefined ? {} : { tracing: opts.tracing });
  const observer = factory.forHttp({ ...listenerConfig(hcm), direction: opts.direction }, hcm);
  const request = (
    headers: string[],
    path = '/orders/1',
  ): { obs: RequestObserver | undefined; req: ObservedRequest } => {
    const view = new RequestView('GET', 'http', 'orders:8080', path, headers, false);
    const req: ObservedRequest = {
      view,
      peer: '10.0.0.7',
      isH2: false,
      downstream: new Socket(),
      startTime: Date.now(),
      startMs: performance.now(),
    };
    return { obs: observer.begin(req), req };
  };
  return { spans, services, request };
}

function summary(status: number, extra: Partial<ExchangeSummary> = {}): ExchangeSummary {
  return {
    status,
    flags: '',
    routeName: 'orders-route',
    cluster: 'orders|8080|v1',
    upstreamHost: undefined,
    attempts: 1,
    bytesReceived: 0,
    bytesSent: 0,
    reset: false,
    startMs: performance.now() - 5,
    endMs: performance.now(),
    startTime: Date.now(),
    ...extra,
  };
}

describe('tracing observer', () => {
  it('inbound: a SERVER span under the incoming context and a CLIENT span per attempt, each sent upstream', () => {
    const { spans, request } = setup({ direction: 'inbound' });
    const { obs, req } = request(['traceparent', `00-${T}-${S}-01`, 'tracestate', 'v=1']);
    expect(obs).to.not.equal(undefined);
    const o = obs as RequestObserver;
    o.routed(ROUTE, 'inbound|9000');
    o.attemptStart(host('127.0.0.1', 9000), 1, req.view.headers);
    const first = headerGet(req.view.headers, 'traceparent');
    o.attemptEnd(host('127.0.0.1', 9000), { status: 503 });
    o.attemptStart(host('127.0.0.1', 9000), 2, req.view.headers);
    const second = headerGet(req.view.headers, 'traceparent');
    o.attemptEnd(host('127.0.0.1', 9000), { status: 200 });
    o.end(summary(200, { attempts: 2, cluster: 'inbound|9000' }));
    expect(spans).to.have.length(3);
    const [try1, try2, server] = spans as [ProxySpan, ProxySpan, ProxySpan];
    expect(server.kind).to.equal(SpanKind.SERVER);
    expect(server.traceId).to.equal(T);
    expect(server.parentSpanContext).to.deep.include({ spanId: S, isRemote: true });
    expect(server.name).to.equal('GET orders-route');
    expect(server.attributes).to.include({
      'http.request.method': 'GET',
      'url.path': '/orders/1',
      'http.route': 'orders-route',
      'http.response.status_code': 200,
      'client.address': '10.0.0.7',
      'server.address': 'orders',
      'trellis.direction': 'ingress',
    });
    for (const c of [try1, try2]) {
      expect(c.kind).to.equal(SpanKind.CLIENT);
      expect(c.parentSpanContext?.spanId).to.equal(server.spanId);
      expect(c.attributes).to.include({ 'peer.service': 'web', upstream_cluster: 'inbound|9000', 'server.port': 9000 });
    }
    expect(first).to.equal(`00-${T}-${try1.spanId}-01`);
    expect(second).to.equal(`00-${T}-${try2.spanId}-01`);
    expect(try1.status.code).to.equal(2);
    expect(try1.attributes['http.request.resend_count']).to.equal(undefined);
    expect(try2.attributes['http.request.resend_count']).to.equal(1);
    expect(try2.status.code).to.equal(0);
    expect(server.status.code).to.equal(0);
    expect(try1.endMs).to.be.at.most(try2.startMs);
    // tracestate travels unchanged.
    expect(headerGet(req.view.headers, 'tracestate')).to.equal('v=1');
  });

  it('outbound without a context: one new trace for the request, its attempts share it', () => {
    const { spans, request } = setup({ direction: 'outbound' });
    const { obs, req } = request([]);
    const o = obs as RequestObserver;
    o.routed(ROUTE, 'orders|8080|v1');
    o.attemptStart(host('10.0.0.1', 8080), 1, req.view.headers);
    o.attemptEnd(host('10.0.0.1', 8080), { error: 'connect-failure' });
    o.attemptStart(host('10.0.0.2', 8080), 2, req.view.headers);
    o.attemptEnd(host('10.0.0.2', 8080), { status: 200 });
    o.end(summary(200, { attempts: 2 }));
    expect(spans).to.have.length(2);
    const [a, b] = spans as [ProxySpan, ProxySpan];
    expect(a.traceId).to.equal(b.traceId);
    expect(a.parentSpanContext).to.equal(undefined);
    expect(b.parentSpanContext).to.equal(undefined);
    expect(a.attributes).to.include({ 'error.type': 'connect-failure', 'peer.service': 'orders' });
    expect(a.status.code).to.equal(2);
    expect(b.attributes).to.include({ 'server.address': '10.0.0.2', 'http.request.resend_count': 1 });
    expect(headerGet(req.view.headers, 'traceparent')).to.equal(`00-${b.traceId}-${b.spanId}-01`);
  });

  it('outbound: the client span of a breaker refusal carries the overload cause; a local reply gets one span', () => {
    const { spans, request } = setup({ direction: 'outbound' });
    const first = request(['traceparent', `00-${T}-${S}-01`]);
    const o = first.obs as RequestObserver;
    o.routed(ROUTE, 'orders|8080|v1');
    o.attemptStart(host('10.0.0.1', 8080), 1, first.req.view.headers);
    o.attemptEnd(host('10.0.0.1', 8080), { error: 'overflow', overloadCause: 'max_requests' });
    o.end(summary(503, { flags: 'UO', overloadCause: 'max_requests' }));
    expect(spans[0]?.attributes).to.include({ 'trellis.overload_cause': 'max_requests', 'error.type': 'overflow' });
    expect(spans[0]?.parentSpanContext?.spanId).to.equal(S);
    const second = request(['traceparent', `00-${T}-${S}-01`], '/nowhere');
    (second.obs as RequestObserver).routed(undefined, undefined);
    (second.obs as RequestObserver).end(summary(404, { flags: 'NR', routeName: '', cluster: '' }));
    expect(spans).to.have.length(2);
    expect(spans[1]?.name).to.equal('GET /nowhere');
    expect(spans[1]?.attributes).to.include({ 'http.response.status_code': 404, response_flags: 'NR' });
  });

  it('an unsampled request gets only a traceparent with flags 00, and no spans', () => {
    const { spans, request } = setup({ direction: 'inbound', sampling: 0 });
    const fresh = request([]);
    expect(fresh.obs).to.equal(undefined);
    expect(headerGet(fresh.req.view.headers, 'traceparent')).to.match(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    const unsampled = request(['traceparent', `00-${T}-${S}-00`]);
    expect(unsampled.obs).to.equal(undefined);
    expect(unsampled.req.view.headers).to.deep.equal(['traceparent', `00-${T}-${S}-00`]);
    const b3 = request(['b3', `${T}-${S}`]);
    expect(b3.obs).to.equal(undefined);
    expect(headerGet(b3.req.view.headers, 'traceparent')).to.equal(`00-${T}-${S}-00`);
    expect(headerGet(b3.req.view.headers, 'b3')).to.equal(`${T}-${S}-0`);
    // A sampled parent still wins over a 0% ratio.
    expect(request(['traceparent', `00-${T}-${S}-01`]).obs).to.not.equal(undefined);
    expect(spans).to.have.length(0);
  });

  it('the control plane overrides sampling and service name per listener; spawn_upstream_span off means no client spans', () => {
    const off = setup({
      direction: 'inbound',
      sampling: 100,
      tracing: { randomSamplingPercent: 0, spawnUpstreamSpan: true },
    });
    expect(off.request([]).obs).to.equal(undefined);
    const on = setup({
      direction: 'inbound',
      sampling: 0,
      tracing: { randomSamplingPercent: 100, serviceName: 'orders-svc', spawnUpstreamSpan: false },
    });
    expect(on.services).to.deep.equal(['orders-svc']);
    const { obs, req } = on.request([]);
    const o = obs as RequestObserver;
    o.routed(ROUTE, 'inbound|9000');
    o.attemptStart(host('127.0.0.1', 9000), 1, req.view.headers);
    o.attemptEnd(host('127.0.0.1', 9000), { status: 200 });
    o.end(summary(200));
    expect(on.spans).to.have.length(1);
    const server = on.spans[0] as ProxySpan;
    expect(server.kind).to.equal(SpanKind.SERVER);
    expect(server.resource.attributes['service.name']).to.equal('orders-svc');
    expect(headerGet(req.view.headers, 'traceparent')).to.equal(`00-${server.traceId}-${server.spanId}-01`);
  });

  it('gRPC: the status code is recorded; server-error codes fail the server span', () => {
    const { spans, request } = setup({ direction: 'inbound' });
    const { obs, req } = request(['content-type', 'application/grpc']);
    const o = obs as RequestObserver;
    o.routed(ROUTE, 'inbound|9000');
    o.attemptStart(host('127.0.0.1', 9000), 1, req.view.headers);
    o.attemptEnd(host('127.0.0.1', 9000), { status: 200 });
    o.end(summary(200, { grpcStatus: 14 }));
    const server = spans.find((s) => s.kind === SpanKind.SERVER) as ProxySpan;
    expect(server.attributes['rpc.grpc.status_code']).to.equal(14);
    expect(server.status.code).to.equal(2);
  });

  it('gRPC: a status that comes in the trailers lands on the outbound client span and fails it', () => {
    const { spans, request } = setup({ direction: 'outbound' });
    const { obs, req } = request(['content-type', 'application/grpc']);
    const o = obs as RequestObserver;
    o.routed(ROUTE, 'payments|50051');
    o.attemptStart(host('127.0.0.1', 9000), 1, req.view.headers);
    o.attemptEnd(host('127.0.0.1', 9000), { status: 200 });
    o.end(summary(200, { grpcStatus: 14 }));
    const client = spans.find((s) => s.kind === SpanKind.CLIENT) as ProxySpan;
    expect(client.attributes['rpc.grpc.status_code']).to.equal(14);
    expect(client.status.code).to.equal(2);
  });
});
