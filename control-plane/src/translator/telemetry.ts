// Telemetry → Envoy fields on a sidecar's HttpConnectionManagers (tracing, access_log) and TcpProxies (access_log). Pure.
import type { TelemetryAccessLog, TelemetryResource, TelemetrySpec, TelemetryTracing } from '../resources/types.ts';
import { byString } from './names.ts';
import { struct } from './proto-values.ts';

export const OTEL_TRACER_TYPE_URL = 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig';
export const FILE_ACCESS_LOG_TYPE_URL = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
export const STDOUT_ACCESS_LOG_TYPE_URL =
  'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
export const STDERR_ACCESS_LOG_TYPE_URL =
  'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog';
/** The runtime key of the sampling filter (Trellis sidecars have no runtime: the default percent applies). */
export const ACCESS_LOG_RUNTIME_KEY = 'access_log.sampling';

/** What one proxy gets: each part from the service-scoped Telemetry when it sets it, else from the mesh-wide one. */
export interface EffectiveTelemetry {
  tracing?: TelemetryTracing;
  accessLog?: TelemetryAccessLog;
}

/**
 * The Telemetry in effect for a proxy fronting `service` (undefined: a proxy that fronts none gets the mesh-wide
 * one). Several for one scope cannot be stored (references.ts); should it happen, the first by name wins.
 */
export function effectiveTelemetry(
  all: readonly TelemetryResource[],
  service: string | undefined,
): EffectiveTelemetry | undefined {
  const sorted = [...all].sort((a, b) => byString(a.metadata.name, b.metadata.name));
  const mesh = sorted.find((t) => t.spec.selector === undefined)?.spec;
  const own = service === undefined ? undefined : sorted.find((t) => t.spec.selector?.service === service)?.spec;
  const pick = (part: keyof Omit<TelemetrySpec, 'selector'>) => own?.[part] ?? mesh?.[part];
  const out: EffectiveTelemetry = {};
  const tracing = pick('tracing') as TelemetryTracing | undefined;
  const accessLog = pick('accessLog') as TelemetryAccessLog | undefined;
  if (tracing) out.tracing = tracing;
  if (accessLog) out.accessLog = accessLog;
  return tracing || accessLog ? out : undefined;
}

/** type.v3.FractionalPercent for a percent, exact to 1/10000 of a percent. */
export function fractionalPercent(percent: number): { numerator: number; denominator: string } {
  if (Number.isInteger(percent)) return { numerator: percent, denominator: 'HUNDRED' };
  const tenThousandths = percent * 100;
  if (Math.abs(tenThousandths - Math.round(tenThousandths)) < 1e-9)
    return { numerator: Math.round(tenThousandths), denominator: 'TEN_THOUSAND' };
  return { numerator: Math.round(percent * 10_000), denominator: 'MILLION' };
}

/** HCM `tracing`: random sampling and the OpenTelemetry provider reporting as `serviceName`. */
export function hcmTracing(tracing: TelemetryTracing, serviceName: string): Record<string, unknown> {
  return {
    random_sampling: { value: tracing.samplingPercent },
    provider: {
      name: 'envoy.tracers.opentelemetry',
      typed_config: { '@type': OTEL_TRACER_TYPE_URL, service_name: serviceName },
    },
  };
}

/** One `access_log` entry: stdout / stderr stream loggers or a file logger, JSON format, sampling filter. */
export function accessLogEntry(log: TelemetryAccessLog): Record<string, unknown> {
  const logFormat = log.format === undefined ? undefined : { json_format: struct(log.format) };
  let name: string;
  let typedConfig: Record<string, unknown>;
  if (log.path === '/dev/stdout') {
    name = 'envoy.access_loggers.stdout';
    typedConfig = { '@type': STDOUT_ACCESS_LOG_TYPE_URL };
  } else if (log.path === '/dev/stderr') {
    name = 'envoy.access_loggers.stderr';
    typedConfig = { '@type': STDERR_ACCESS_LOG_TYPE_URL };
  } else {
    name = 'envoy.access_loggers.file';
    typedConfig = { '@type': FILE_ACCESS_LOG_TYPE_URL, path: log.path };
  }
  if (logFormat) typedConfig['log_format'] = logFormat;
  const entry: Record<string, unknown> = { name, typed_config: typedConfig };
  if (log.samplingPercent !== undefined) {
    entry['filter'] = {
      runtime_filter: { runtime_key: ACCESS_LOG_RUNTIME_KEY, percent_sampled: fractionalPercent(log.samplingPercent) },
    };
  }
  return entry;
}

/** The HCM fields a Telemetry adds (none when it is absent). */
export function hcmTelemetryFields(
  telemetry: EffectiveTelemetry | undefined,
  serviceName: string,
): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (telemetry?.tracing) fields['tracing'] = hcmTracing(telemetry.tracing, serviceName);
  if (telemetry?.accessLog) fields['access_log'] = [accessLogEntry(telemetry.accessLog)];
  return fields;
}

/** The TcpProxy fields a Telemetry adds: only the access log (TCP has no request to trace). */
export function tcpTelemetryFields(telemetry: EffectiveTelemetry | undefined): Record<string, unknown> {
  return telemetry?.accessLog ? { access_log: [accessLogEntry(telemetry.accessLog)] } : {};
}
