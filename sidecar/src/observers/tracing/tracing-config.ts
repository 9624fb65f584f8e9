// Tracing settings from the sidecar's flags and the standard OTEL_* environment: endpoint, protocol, sampling, resource.

export type OtlpProtocol = 'http/protobuf' | 'grpc';
export const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'grpc'];

/** The tracing flags main.ts parses (env fallbacks already applied). */
export interface TracingFlags {
  service: string;
  /** Undefined: tracing is off. */
  tracingEndpoint?: string | undefined;
  tracingProtocol: OtlpProtocol;
  tracingSampling: number;
  /** BatchSpanProcessor delay between exports, ms. */
  tracingBatchDelay: number;
}

export interface TracingSettings {
  /** The full export URL (http/protobuf: …/v1/traces; grpc: http://host:port). */
  endpoint: string;
  protocol: OtlpProtocol;
  samplingPercent: number;
  serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES (service.name excluded: serviceName says it). */
  resourceAttributes: Record<string, string>;
  /** BatchSpanProcessor delay between exports (--tracing-batch-delay, OTEL_BSP_SCHEDULE_DELAY, default 5000 ms). */
  scheduledDelayMs: number;
}

/** A bad value, with the flag or variable it came from in the message. */
export class TracingConfigError extends Error {}

/** An http(s) URL (the flag's parser). */
export function endpointUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new TracingConfigError('expected an http(s) URL such as http://127.0.0.1:4318');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TracingConfigError(`expected an http(s) URL, got scheme ${url.protocol}`);
  return value.trim();
}

/** 'http/protobuf' or 'grpc'. */
export function otlpProtocol(value: string): OtlpProtocol {
  const v = value.trim() as OtlpProtocol;
  if (!OTLP_PROTOCOLS.includes(v)) throw new TracingConfigError(`expected one of ${OTLP_PROTOCOLS.join(', ')}`);
  return v;
}

/** A sampling percentage 0-100 (fractions allowed: 0.5 = one request in 200). */
export function samplingPercent(value: string): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100)
    throw new TracingConfigError('expected a percentage 0-100');
  return n;
}

/** The endpoint from the environment: TRELLIS_TRACING_ENDPOINT, else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (as is). */
export function endpointFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const name = env['TRELLIS_TRACING_ENDPOINT'] ? 'TRELLIS_TRACING_ENDPOINT' : 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT';
  const value = env[name];
  return value ? fromEnv(name, value, endpointUrl) : undefined;
}

/** OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf. */
export function protocolFromEnv(env: NodeJS.ProcessEnv): OtlpProtocol {
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const value = env[name];
    if (value) return fromEnv(name, value, otlpProtocol);
  }
  return 'http/protobuf';
}

/**
 * TRELLIS_TRACING_SAMPLING, else OTEL_TRACES_SAMPLER (always_on, always_off, traceidratio and their parentbased_
 * forms: the sidecar is always parent-based) with OTEL_TRACES_SAMPLER_ARG, else 100.
 */
export function samplingFromEnv(env: NodeJS.ProcessEnv): number {
  const trellis = env['TRELLIS_TRACING_SAMPLING'];
  if (trellis) return fromEnv('TRELLIS_TRACING_SAMPLING', trellis, samplingPercent);
  const sampler = env['OTEL_TRACES_SAMPLER']?.trim();
  if (!sampler) return 100;
  switch (sampler) {
    case 'always_on':
    case 'parentbased_always_on':
      return 100;
    case 'always_off':
    case 'parentbased_always_off':
      return 0;
    case 'traceidratio':
    case 'parentbased_traceidratio': {
      const arg = env['OTEL_TRACES_SAMPLER_ARG']?.trim();
      if (!arg) return 100;
      const ratio = Number(arg);
      if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1)
        throw new TracingConfigError(`env OTEL_TRACES_SAMPLER_ARG=${JSON.stringify(arg)}: expected a ratio 0-1`);
      return ratio * 100;
    }
    default:
      throw new TracingConfigError(
        `env OTEL_TRACES_SAMPLER=${JSON.stringify(sampler)}: expected always_on, always_off, traceidratio or parentbased_* of them`,
      );
  }
}

/** OTEL_BSP_SCHEDULE_DELAY (milliseconds), else 5000. */
export function batchDelayFromEnv(env: NodeJS.ProcessEnv): number {
  const value = env['OTEL_BSP_SCHEDULE_DELAY'];
  if (!value) return 5000;
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isInteger(n) || n < 0)
    throw new TracingConfigError(`env OTEL_BSP_SCHEDULE_DELAY=${JSON.stringify(value)}: expected milliseconds`);
  return n;
}

/** `k=v,k2=v2` with percent-encoded values (the OTEL_RESOURCE_ATTRIBUTES format). */
export function parseResourceAttributes(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of value.split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq).trim() : '';
    if (key === '') throw new TracingConfigError(`env OTEL_RESOURCE_ATTRIBUTES: '${pair.trim()}' is not key=value`);
    let v = pair.slice(eq + 1).trim();
    try {
      v = decodeURIComponent(v);
    } catch {
      throw new TracingConfigError(`env OTEL_RESOURCE_ATTRIBUTES: bad percent-encoding in '${key}'`);
    }
    out[key] = v;
  }
  return out;
}

/**
 * The settings in force, or undefined when no endpoint is configured (tracing off). The flag's endpoint wins; then
 * OTEL_EXPORTER_OTLP_ENDPOINT as a base URL (http/protobuf appends /v1/traces). An http/protobuf URL with no path
 * gets /v1/traces. Service name: OTEL_SERVICE_NAME, else service.name in OTEL_RESOURCE_ATTRIBUTES, else --service.
 */
export function tracingSettings(flags: TracingFlags, env: NodeJS.ProcessEnv): TracingSettings | undefined {
  const protocol = flags.tracingProtocol;
  let endpoint = flags.tracingEndpoint;
  if (endpoint === undefined) {
    const base = env['OTEL_EXPORTER_OTLP_ENDPOINT'];
    if (!base) return undefined;
    endpoint = fromEnv('OTEL_EXPORTER_OTLP_ENDPOINT', base, endpointUrl);
    if (protocol === 'http/protobuf') endpoint = endpoint.replace(/\/+$/, '') + '/v1/traces';
  } else if (protocol === 'http/protobuf') {
    const url = new URL(endpoint);
    if (url.pathname === '/' || url.pathname === '') endpoint = endpoint.replace(/\/+$/, '') + '/v1/traces';
  }
  const resourceAttributes = parseResourceAttributes(env['OTEL_RESOURCE_ATTRIBUTES'] ?? '');
  const serviceName = env['OTEL_SERVICE_NAME']?.trim() || resourceAttributes['service.name'] || flags.service;
  delete resourceAttributes['service.name'];
  return {
    endpoint,
    protocol,
    samplingPercent: flags.tracingSampling,
    serviceName,
    resourceAttributes,
    scheduledDelayMs: flags.tracingBatchDelay,
  };
}

function fromEnv<T>(name: string, value: string, parse: (v: string) => T): T {
  try {
    return parse(value);
  } catch (err) {
    throw new TracingConfigError(`env ${name}=${JSON.stringify(value)}: ${(err as Error).message}`);
  }
}
