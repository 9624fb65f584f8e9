// Control-plane tracing: an OpenTelemetry SDK tracer exporting OTLP (HTTP/protobuf or gRPC), configured like the spec says.
import { OTLPTraceExporter as OtlpGrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { DEFAULT_SERVICE_NAME, noTracing, type Tracing, type TracingTarget, tracingTarget } from './tracing-target.ts';

export { noTracing, type Tracing, type TracingTarget, tracingTarget };

type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export interface StartTracingOptions {
  flag?: string | undefined;
  env: Env;
  /** Replaces the OTLP exporter (tests). */
  exporter?: SpanExporter;
}

function exporterFor(target: TracingTarget): SpanExporter {
  return target.protocol === 'grpc'
    ? new OtlpGrpcExporter({ url: target.url })
    : new OtlpProtoExporter({ url: target.url });
}

/** Starts the SDK when an endpoint is configured (or an exporter given); the tracer is not registered globally. */
export function startTracing(opts: StartTracingOptions): Tracing {
  const target = tracingTarget(opts.flag, opts.env);
  if (!target && !opts.exporter) return noTracing();
  const exporter = opts.exporter ?? exporterFor(target as TracingTarget);
  const serviceName = nonEmpty(opts.env['OTEL_SERVICE_NAME']) ?? DEFAULT_SERVICE_NAME;
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': serviceName })),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracing: Tracing = {
    tracer: provider.getTracer(DEFAULT_SERVICE_NAME),
    enabled: true,
    shutdown: () => provider.shutdown(),
  };
  if (target) tracing.target = target;
  return tracing;
}
