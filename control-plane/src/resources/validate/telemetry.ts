// Validates a Telemetry spec: optional service selector, trace sampling, access log path, format and sampling.
import { accessLogFormatErrors } from './access-log-format.ts';
import { field, type Issues } from './issues.ts';

export const TELEMETRY_FIELDS = ['selector', 'tracing', 'accessLog'];
const ACCESS_LOG_FIELDS = ['path', 'format', 'samplingPercent'];

export function validateTelemetrySpec(spec: Record<string, unknown>, issues: Issues): void {
  if (spec['selector'] !== undefined) {
    const selector = issues.object(spec['selector'], 'spec.selector', ['service']);
    if (selector && issues.required(selector, 'spec.selector', 'service', 'the name of a Service'))
      issues.dnsLabel(selector['service'], 'spec.selector.service');
  }
  if (spec['tracing'] !== undefined) {
    const tracing = issues.object(spec['tracing'], 'spec.tracing', ['samplingPercent']);
    if (tracing && issues.required(tracing, 'spec.tracing', 'samplingPercent', 'a number from 0 to 100'))
      issues.number(tracing['samplingPercent'], 'spec.tracing.samplingPercent', 0, 100);
  }
  if (spec['accessLog'] !== undefined) validateAccessLog(spec['accessLog'], 'spec.accessLog', issues);
  if (spec['tracing'] === undefined && spec['accessLog'] === undefined)
    issues.add('spec', 'expected at least one of tracing|accessLog');
}

function validateAccessLog(value: unknown, path: string, issues: Issues): void {
  const log = issues.object(value, path, ACCESS_LOG_FIELDS);
  if (!log) return;
  if (issues.required(log, path, 'path', '/dev/stdout, /dev/stderr or an absolute file path')) {
    const p = log['path'];
    if (typeof p !== 'string' || !p.startsWith('/') || p.includes('\0'))
      issues.expected(field(path, 'path'), '/dev/stdout, /dev/stderr or an absolute file path', p);
  }
  if (log['format'] !== undefined) {
    const at = field(path, 'format');
    if (issues.stringMap(log['format'], at, true)) {
      for (const [key, text] of Object.entries(log['format'])) {
        for (const problem of accessLogFormatErrors(text)) issues.add(field(at, key), problem);
      }
    }
  }
  if (log['samplingPercent'] !== undefined)
    issues.number(log['samplingPercent'], field(path, 'samplingPercent'), 0, 100);
}
