// Tracing wired to OTLP: resource per service name, OTLP HTTP/protobuf or gRPC exporter, BatchSpanProcessor.
import { OTLPTraceExporter as OtlpGrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { ExchangeObserverFactory } from '../../http/context/exchange-observer.ts';
import type { SpanScope } from './proxy-span.ts';
import type { TracingSettings } from './tracing-config.ts';
import { TracingObserverFactory } from './tracing-observer.ts';

const SCOPE = { name: 'trellis-sidecar', version: '0.1.0' };

/** Running tracing: the observer factory for the sidecar, and a flush for shutdown. */
export interface Tracing {
  readonly factory: ExchangeObserverFactory;
  readonly settings: TracingSettings;
  /** Exports every span still queued, then stops the exporter. */
  shutdown(): Promise<void>;
}

/** The OTLP exporter for the configured protocol. */
export function createSpanExporter(settings: TracingSettings): SpanExporter {
  return settings.protocol === 'grpc'
    ? new OtlpGrpcExporter({ url: settings.endpoint })
    : new OtlpProtoExporter({ url: settings.endpoint });
}

/** Tracing per the settings, or undefined (tracing off, nothing allocated) when there are none. */
export function startTracing(settings: TracingSettings | undefined, exporter?: SpanExporter): Tracing | undefined {
  if (settings === undefined) return undefined;
  const processor = new BatchSpanProcessor(exporter ?? createSpanExporter(settings), {
    scheduledDelayMillis: settings.scheduledDelayMs,
  });
  const scopeFor = (serviceName: string): SpanScope => ({
    resource: resourceFromAttributes({ ...settings.resourceAttributes, [ATTR_SERVICE_NAME]: serviceName }),
    instrumentationScope: SCOPE,
  });
  const factory = new TracingObserverFactory({
    sink: processor,
    scopeFor,
    serviceName: settings.serviceName,
    samplingPercent: settings.samplingPercent,
  });
  return { factory, settings, shutdown: () => processor.shutdown() };
}
