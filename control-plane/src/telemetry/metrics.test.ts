// The metrics registry through the xDS and API observers: families, labels, push latency, convergence, spans.
import { status } from '@grpc/grpc-js';
import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { NodeInfo } from '@trellis/node-contract';
import { expect } from 'chai';
import { parsePrometheusText } from '../common/prometheus-text.ts';
import { ProxyRecord } from '../xds/proxy-tracker.ts';
import { ControlPlaneTelemetry } from './control-plane-telemetry.ts';
import { startTracing } from './tracing.ts';

const LDS = 'type.googleapis.com/envoy.config.listener.v3.Listener';

function node(id: string, metadata: Record<string, unknown> = { TRELLIS_PROXY: 'sidecar' }): NodeInfo {
  return {
    id,
    cluster: '',
    metadata,
    locality: { region: '', zone: '', sub_zone: '' },
    userAgentName: '',
    userAgentVersion: '',
    clientFeatures: [],
  };
}

/** Keeps what it was given, also after shutdown (InMemorySpanExporter forgets on shutdown). */
function collectingExporter(): SpanExporter & { spans: ReadableSpan[] } {
  const spans: ReadableSpan[] = [];
  return {
    spans,
    export(batch, done) {
      spans.push(...batch);
      done({ code: 0 });
    },
    shutdown: () => Promise.resolve(),
  };
}

async function samples(t: ControlPlaneTelemetry): Promise<Map<string, number>> {
  const text = await t.metrics.render();
  const out = new Map<string, number>();
  for (const s of parsePrometheusText(text)) {
    const labels = Object.entries(s.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    out.set(labels === '' ? s.name : `${s.name}{${labels}}`, s.value);
  }
  return out;
}

describe('control-plane metrics and spans', () => {
  it('counts proxies by kind, pushes, ACKs, NACKs, API calls; observes push latency and convergence', async () => {
    let now = 0;
    const exporter = collectingExporter();
    const tracing = startTracing({ env: {}, exporter });
    const t = new ControlPlaneTelemetry(tracing, () => now);
    const sidecar = new ProxyRecord({ streamId: '1', node: node('web-1'), protocol: 'sotw', peer: '127.0.0.1:1' });
    const grpc = new ProxyRecord({ streamId: '2', node: node('client', {}), protocol: 'sotw', peer: '127.0.0.1:2' });
    t.metrics.countProxiesFrom(() => ['sidecar', 'proxyless', 'sidecar']);

    const call = t.api.begin({ method: 'Apply', resources: ['Telemetry/mesh-default'], dryRun: false });
    call.run(() => t.storeChanged());
    call.end(status.OK, undefined, { 'trellis.changed': 1 });
    t.api.begin({ method: 'Get', resources: ['Service/nope'] }).end(status.NOT_FOUND, 'Service "nope" not found');

    now = 4;
    t.publishRound(() => {
      t.xds.pushed({ record: sidecar, typeUrl: LDS, version: 'v1', nonce: '1', resourceCount: 3, removedCount: 0 });
      t.xds.pushed({ record: grpc, typeUrl: LDS, version: 'v1', nonce: '1', resourceCount: 1, removedCount: 0 });
    });
    now = 10;
    t.xds.acked(sidecar, LDS, '1', 'v1');
    t.xds.nacked(grpc, 'type.googleapis.com/envoy.config.cluster.v3.Cluster', '0', 'a type the round did not push');
    let m = await samples(t);
    expect(m.get('trellis_cp_convergence_seconds_count')).to.equal(0);
    t.xds.acked(grpc, LDS, '1', 'v1');
    m = await samples(t);
    expect(m.get('trellis_cp_connected_proxies{client_kind=sidecar}')).to.equal(2);
    expect(m.get('trellis_cp_connected_proxies{client_kind=proxyless}')).to.equal(1);
    expect(m.get('trellis_cp_connected_proxies{client_kind=envoy}')).to.equal(0);
    expect(m.get(`trellis_cp_xds_pushes_total{type_url=${LDS}}`)).to.equal(2);
    expect(m.get(`trellis_cp_xds_acks_total{type_url=${LDS}}`)).to.equal(2);
    expect(m.get(`trellis_cp_xds_nacks_total{type_url=${LDS}}`)).to.equal(undefined);
    expect(m.get('trellis_cp_xds_nacks_total{type_url=type.googleapis.com/envoy.config.cluster.v3.Cluster}')).to.equal(
      1,
    );
    expect(m.get(`trellis_cp_xds_push_latency_seconds_count{type_url=${LDS}}`)).to.equal(2);
    expect(m.get(`trellis_cp_xds_push_latency_seconds_bucket{le=0.005,type_url=${LDS}}`)).to.equal(2);
    expect(m.get('trellis_cp_convergence_seconds_count')).to.equal(1);
    expect(m.get('trellis_cp_convergence_seconds_sum')).to.equal(0.01);
    expect(m.get('trellis_cp_api_requests_total{method=Apply,code=OK}')).to.equal(1);
    expect(m.get('trellis_cp_api_requests_total{method=Get,code=NOT_FOUND}')).to.equal(1);

    await tracing.shutdown();
    const spans = exporter.spans;
    const apply = spans.find((s) => s.name === 'trellis.admin.v1.AdminService/Apply');
    const get = spans.find((s) => s.name === 'trellis.admin.v1.AdminService/Get');
    const pushes = spans.filter((s) => s.name === 'xds.push');
    expect(apply?.attributes).to.deep.include({
      'rpc.method': 'Apply',
      'trellis.resources': 'Telemetry/mesh-default',
      'trellis.resource_kinds': 'Telemetry',
      'trellis.outcome': 'ok',
      'trellis.changed': 1,
    });
    expect(get?.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'Service "nope" not found' });
    expect(pushes).to.have.length(2);
    for (const push of pushes) {
      expect(push.attributes).to.deep.include({ 'xds.type_url': LDS, 'xds.version': 'v1', 'xds.outcome': 'ack' });
      expect(push.links.map((l) => l.context.spanId)).to.deep.equal([apply?.spanContext().spanId]);
    }
    expect(pushes.map((p) => p.attributes['xds.node_id']).sort()).to.deep.equal(['client', 'web-1']);
  });

  it('renders text every family parses from, with HELP and TYPE lines', async () => {
    const t = new ControlPlaneTelemetry();
    const text = await t.metrics.render();
    for (const family of [
      'trellis_cp_connected_proxies gauge',
      'trellis_cp_xds_pushes_total counter',
      'trellis_cp_xds_push_latency_seconds histogram',
      'trellis_cp_xds_acks_total counter',
      'trellis_cp_xds_nacks_total counter',
      'trellis_cp_convergence_seconds histogram',
      'trellis_cp_api_requests_total counter',
    ]) {
      expect(text).to.include(`# TYPE ${family}\n`);
    }
    expect(t.metrics.contentType).to.match(/^text\/plain; version=0\.0\.4/);
  });
});
