// Decodes the observability parts of a listener's filters: HCM `tracing` and `access_log` (HCM and TcpProxy).
import { compileFormat, FormatError } from './access-log-format.ts';
import { anyTypeName, at, enumName, fail, type Obj, objList, optObj, str, structToJson } from './decode-values.ts';
import type { AccessLogConfig, TracingConfig } from './model.ts';

export const FILE_ACCESS_LOG_TYPE = 'envoy.extensions.access_loggers.file.v3.FileAccessLog';
export const STDOUT_ACCESS_LOG_TYPE = 'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
export const STDERR_ACCESS_LOG_TYPE = 'envoy.extensions.access_loggers.stream.v3.StderrAccessLog';
export const OTEL_TRACER_TYPE = 'envoy.config.trace.v3.OpenTelemetryConfig';

const DENOMINATORS: Readonly<Record<string, number>> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 };
const STATUS_OPS: Readonly<Record<string, 'EQ' | 'GE' | 'LE'>> = { EQ: 'EQ', GE: 'GE', LE: 'LE' };

/** A type.v3.Percent ({ value: 0-100 }). */
function percent(v: unknown, path: string): number | undefined {
  const o = optObj(v, path);
  if (o === undefined) return undefined;
  const value = Number(o['value'] ?? 0);
  if (!Number.isFinite(value) || value < 0 || value > 100) fail(at(path, 'value'), 'expected a percent 0-100');
  return value;
}

/** A type.v3.FractionalPercent as a percent. */
function fractionalPercent(v: unknown, path: string): number {
  const o = optObj(v, path);
  if (o === undefined) return 100;
  const numerator = Number(o['numerator'] ?? 0);
  const denominator = DENOMINATORS[enumName(o['denominator'], 'HUNDRED')];
  if (denominator === undefined) fail(at(path, 'denominator'), 'expected HUNDRED, TEN_THOUSAND or MILLION');
  if (!Number.isInteger(numerator) || numerator < 0) fail(at(path, 'numerator'), 'expected a non-negative integer');
  return Math.min(100, (numerator / denominator) * 100);
}

/** HCM `tracing`: sampling and the OpenTelemetry provider's service name; other providers are refused. */
export function tracingConfig(v: unknown, path: string): TracingConfig | undefined {
  const o = optObj(v, path);
  if (o === undefined) return undefined;
  const out: TracingConfig = {
    spawnUpstreamSpan: o['spawn_upstream_span'] === undefined ? true : isTrue(o['spawn_upstream_span']),
  };
  const sampling = percent(o['random_sampling'], at(path, 'random_sampling'));
  if (sampling !== undefined) out.randomSamplingPercent = sampling;
  const provider = optObj(o['provider'], at(path, 'provider'));
  if (provider !== undefined) {
    const ppath = at(path, 'provider');
    const config = optObj(provider['typed_config'], at(ppath, 'typed_config'));
    const type = config === undefined ? '' : anyTypeName(config);
    if (type !== OTEL_TRACER_TYPE)
      fail(
        at(ppath, 'typed_config'),
        `unsupported tracer ${type || str(provider['name']) || '(none)'}; expected ${OTEL_TRACER_TYPE}`,
      );
    const name = str(config?.['service_name']);
    if (name !== '') out.serviceName = name;
  }
  return out;
}

function isTrue(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (v !== null && typeof v === 'object' && 'value' in v) return (v as { value: unknown }).value === true;
  return false;
}

function logFormat(o: Obj | undefined, path: string): Pick<AccessLogConfig, 'jsonFormat' | 'textFormat'> {
  if (o === undefined) return {};
  if (o['json_format'] !== undefined) {
    const json = structToJson(o['json_format']);
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(json)) {
      if (typeof v !== 'string') fail(at(at(path, 'json_format'), k), 'expected a string of command operators');
      fields[k] = v;
    }
    return { jsonFormat: fields };
  }
  const text = optObj(o['text_format_source'], at(path, 'text_format_source'));
  if (text !== undefined) {
    if (typeof text['inline_string'] !== 'string')
      fail(at(path, 'text_format_source'), 'only inline_string is supported');
    return { textFormat: text['inline_string'] };
  }
  if (typeof o['text_format'] === 'string') return { textFormat: o['text_format'] };
  return {};
}

function accessLogFilter(v: unknown, path: string): Pick<AccessLogConfig, 'sampledPercent' | 'statusFilter'> {
  const o = optObj(v, path);
  if (o === undefined) return { sampledPercent: 100 };
  const runtime = optObj(o['runtime_filter'], at(path, 'runtime_filter'));
  if (runtime !== undefined)
    return {
      sampledPercent: fractionalPercent(runtime['percent_sampled'], at(at(path, 'runtime_filter'), 'percent_sampled')),
    };
  const status = optObj(o['status_code_filter'], at(path, 'status_code_filter'));
  if (status !== undefined) {
    const cpath = at(at(path, 'status_code_filter'), 'comparison');
    const comparison = optObj(status['comparison'], cpath) ?? {};
    const op = STATUS_OPS[enumName(comparison['op'], 'EQ')];
    if (op === undefined) fail(at(cpath, 'op'), 'expected EQ, GE or LE');
    const value = Number(optObj(comparison['value'], at(cpath, 'value'))?.['default_value'] ?? 0);
    return { sampledPercent: 100, statusFilter: { op, value } };
  }
  return fail(path, 'only runtime_filter and status_code_filter are supported');
}

/** Compiles the format once so an unknown or malformed command operator is a decode error (NACK) naming the field. */
function checkFormat(format: Pick<AccessLogConfig, 'jsonFormat' | 'textFormat'>, path: string): void {
  try {
    compileFormat(format, 'http', path);
  } catch (err) {
    if (err instanceof FormatError) fail('', err.message);
    throw err;
  }
}

/** `access_log` entries: file, stdout and stderr loggers; anything else is refused (no silent drop). */
export function accessLogs(v: unknown, path: string): AccessLogConfig[] {
  return objList(v, path).map((entry, i) => {
    const epath = at(path, i);
    const config = optObj(entry['typed_config'], at(epath, 'typed_config'));
    const type = config === undefined ? '' : anyTypeName(config);
    let logPath: string;
    if (type === FILE_ACCESS_LOG_TYPE) {
      logPath = str(config?.['path']);
      if (logPath === '') fail(at(at(epath, 'typed_config'), 'path'), 'is required');
    } else if (type === STDOUT_ACCESS_LOG_TYPE) logPath = '/dev/stdout';
    else if (type === STDERR_ACCESS_LOG_TYPE) logPath = '/dev/stderr';
    else fail(at(epath, 'typed_config'), `unsupported access logger ${type || str(entry['name']) || '(none)'}`);
    const format = logFormat(
      optObj(config?.['log_format'], at(at(epath, 'typed_config'), 'log_format')),
      at(at(epath, 'typed_config'), 'log_format'),
    );
    if (type === FILE_ACCESS_LOG_TYPE && format.jsonFormat === undefined && format.textFormat === undefined) {
      if (typeof config?.['format'] === 'string') format.textFormat = config['format'];
      else if (config?.['json_format'] !== undefined)
        Object.assign(format, logFormat({ json_format: config['json_format'] }, at(epath, 'typed_config')));
    }
    checkFormat(format, at(at(epath, 'typed_config'), 'log_format'));
    return { path: logPath, ...format, ...accessLogFilter(entry['filter'], at(epath, 'filter')) };
  });
}
