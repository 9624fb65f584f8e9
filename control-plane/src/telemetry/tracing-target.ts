// Where the control plane's spans go (--tracing-endpoint, OTEL_* variables) and the no-op tracer, without loading
// the OpenTelemetry SDK (tracing.ts, loaded only when an endpoint is set).
import { type Tracer, trace } from '@opentelemetry/api';

export const DEFAULT_SERVICE_NAME = 'trellis-control-plane';
export type OtlpProtocol = 'http/protobuf' | 'grpc';
const PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'grpc'];

export interface TracingTarget {
  /** Full URL for HTTP (…/v1/traces); the collector's URL for gRPC. */
  url: string;
  protocol: OtlpProtocol;
}

/** A tracer plus what must happen at shutdown (flush the batch); `enabled` false = a no-op tracer. */
export interface Tracing {
  tracer: Tracer;
  enabled: boolean;
  target?: TracingTarget;
  shutdown(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** A base endpoint (no signal path) gets `/v1/traces` for HTTP, as OTEL_EXPORTER_OTLP_ENDPOINT does in the spec. */
function withTracesPath(base: string): string {
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * Where spans go: `--tracing-endpoint` (a base URL like OTEL_EXPORTER_OTLP_ENDPOINT, or a full …/v1/traces URL), else
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is), else OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces for HTTP).
 * Protocol: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf. Undefined when
 * no endpoint is set or OTEL_SDK_DISABLED / OTEL_TRACES_EXPORTER=none say so. Throws naming a bad setting.
 */
export function tracingTarget(flag: string | undefined, env: Env): TracingTarget | undefined {
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return undefined;
  if (env['OTEL_TRACES_EXPORTER']?.trim().toLowerCase() === 'none') return undefined;
  const protocolText =
    nonEmpty(env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL']) ??
    nonEmpty(env['OTEL_EXPORTER_OTLP_PROTOCOL']) ??
    'http/protobuf';
  if (!(PROTOCOLS as readonly string[]).includes(protocolText))
    throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL: expected one of ${PROTOCOLS.join('|')}, got "${protocolText}"`);
  const protocol = protocolText as OtlpProtocol;
  const flagged = nonEmpty(flag);
  const signal = nonEmpty(env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
  const base = nonEmpty(env['OTEL_EXPORTER_OTLP_ENDPOINT']);
  let url: string;
  let source: string;
  if (flagged !== undefined) {
    source = '--tracing-endpoint';
    url = protocol === 'grpc' || /\/v1\/traces\/?$/.test(flagged) ? flagged : withTracesPath(flagged);
  } else if (signal !== undefined) {
    source = 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT';
    url = signal;
  } else if (base !== undefined) {
    source = 'OTEL_EXPORTER_OTLP_ENDPOINT';
    url = protocol === 'grpc' ? base : withTracesPath(base);
  } else {
    return undefined;
  }
  if (!URL.canParse(url)) throw new Error(`${source}: expected a URL such as http://127.0.0.1:4318, got "${url}"`);
  return { url, protocol };
}

/** A no-op tracer: spans cost next to nothing and go nowhere. */
export function noTracing(): Tracing {
  return {
    tracer: trace.getTracerProvider().getTracer(DEFAULT_SERVICE_NAME),
    enabled: false,
    shutdown: () => Promise.resolve(),
  };
}
