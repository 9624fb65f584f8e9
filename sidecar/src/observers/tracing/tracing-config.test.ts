// Tracing settings from flags and OTEL_* env, and the OTLP pipeline they start (flushed by shutdown).

import { Socket } from 'node:net';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import type { ExchangeObserver, ObservedRequest } from '../../http/context/exchange-observer.ts';
import { RequestView } from '../../http/message/request-view.ts';
import { hcmConfig, listenerConfig } from '../../http/test-config.ts';
import { startTracing } from './otlp-tracing.ts';
import { parseResourceAttributes, type TracingFlags, tracingSettings } from './tracing-config.ts';

/** Keeps what it was asked to export (the SDK's in-memory exporter forgets on shutdown). */
class KeepingExporter implements SpanExporter {
  readonly spans: ReadableSpan[] = [];
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.spans.push(...spans);
    done({ code: 0 });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const FLAGS: TracingFlags = {
  service: 'web',
  tracingProtocol: 'http/protobuf',
  tracingSampling: 100,
  tracingBatchDelay: 5000,
};

describe('tracing config', () => {
  it('is off (undefined) without an endpoint', () => {
    expect(tracingSettings(FLAGS, {})).to.equal(undefined);
    expect(startTracing(undefined)).to.equal(undefined);
  });

  it('completes http/protobuf endpoints with /v1/traces; a full path or gRPC URL stays', () => {
    const url = (endpoint: string | undefined, env: NodeJS.ProcessEnv = {}, protocol = FLAGS.tracingProtocol) =>
      tracingSettings({ ...FLAGS, tracingEndpoint: endpoint, tracingProtocol: protocol }, env)?.endpoint;
    expect(url('http://c:4318')).to.equal('http://c:4318/v1/traces');
    expect(url('http://c:4318/')).to.equal('http://c:4318/v1/traces');
    expect(url('http://c:4318/custom/traces')).to.equal('http://c:4318/custom/traces');
    expect(url('http://c:4317', {}, 'grpc')).to.equal('http://c:4317');
    expect(url(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/otlp/' })).to.equal(
      'http://c:4318/otlp/v1/traces',
    );
    expect(url(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317' }, 'grpc')).to.equal('http://c:4317');
    expect(() => url(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'c:4317' })).to.throw(/env OTEL_EXPORTER_OTLP_ENDPOINT/);
  });

  it('takes the service name from OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES, then --service', () => {
    const s = (env: NodeJS.ProcessEnv) => tracingSettings({ ...FLAGS, tracingEndpoint: 'http://c:4318' }, env);
    expect(s({})?.serviceName).to.equal('web');
    expect(s({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=res,deployment.environment=prod' })).to.deep.include({
      serviceName: 'res',
      resourceAttributes: { 'deployment.environment': 'prod' },
    });
    expect(s({ OTEL_SERVICE_NAME: 'env', OTEL_RESOURCE_ATTRIBUTES: 'service.name=res' })?.serviceName).to.equal('env');
    expect(parseResourceAttributes('a=b%2Cc, k = v ,')).to.deep.equal({ a: 'b,c', k: 'v' });
    expect(() => parseResourceAttributes('novalue')).to.throw(/OTEL_RESOURCE_ATTRIBUTES.*novalue/);
  });

  it('starts a pipeline whose shutdown exports every queued span', async () => {
    const exporter = new KeepingExporter();
    const settings = tracingSettings({ ...FLAGS, tracingEndpoint: 'http://127.0.0.1:1' }, { OTEL_SERVICE_NAME: 'svc' });
    const tracing = startTracing(settings, exporter);
    if (tracing === undefined) throw new Error('tracing expected');
    const hcm = hcmConfig();
    const observer = tracing.factory.forHttp({ ...listenerConfig(hcm), direction: 'inbound' }, hcm) as ExchangeObserver;
    const view = new RequestView('GET', 'http', 'web', '/x', [], false);
    const req: ObservedRequest = {
      view,
      peer: '127.0.0.1',
      isH2: false,
      downstream: new Socket(),
      startTime: Date.now(),
      startMs: performance.now(),
    };
    const obs = observer.begin(req);
    obs?.routed(undefined, undefined);
    obs?.end({
      status: 404,
      flags: 'NR',
      routeName: '',
      cluster: '',
      upstreamHost: undefined,
      attempts: 0,
      bytesReceived: 0,
      bytesSent: 0,
      reset: false,
      startMs: req.startMs,
      endMs: performance.now(),
      startTime: req.startTime,
    });
    expect(exporter.spans).to.have.length(0);
    await tracing.shutdown();
    const [span] = exporter.spans;
    expect(span?.name).to.equal('GET /x');
    expect(span?.resource.attributes['service.name']).to.equal('svc');
  });
});
