// Validates a TrafficPolicy's healthCheck: one probe kind (http, tcp or grpc), its timings and thresholds.
import { field, type Issues, isRecord, UINT32_MAX } from './issues.ts';

export const HEALTH_CHECK_FIELDS = [
  'http',
  'tcp',
  'grpc',
  'interval',
  'timeout',
  'healthyThreshold',
  'unhealthyThreshold',
  'jitter',
];
const PROBES = ['http', 'tcp', 'grpc'];
const STATUS_RANGE = /^(\d{3})-(\d{3})$/;

export function validateHealthCheck(value: unknown, path: string, issues: Issues): void {
  const hc = issues.object(value, path, HEALTH_CHECK_FIELDS);
  if (!hc) return;
  issues.exactlyOne(hc, path, PROBES);
  if (hc['http'] !== undefined) validateHttpProbe(hc['http'], field(path, 'http'), issues);
  const tcp = hc['tcp'];
  if (tcp !== undefined && (!isRecord(tcp) || Object.keys(tcp).length > 0)) {
    issues.expected(field(path, 'tcp'), 'an empty mapping {} (connect-only probe)', tcp);
  }
  if (hc['grpc'] !== undefined) {
    const grpc = issues.object(hc['grpc'], field(path, 'grpc'), ['serviceName']);
    if (grpc?.['serviceName'] !== undefined) {
      issues.string(grpc['serviceName'], field(field(path, 'grpc'), 'serviceName'), false);
    }
  }
  for (const key of ['interval', 'timeout']) {
    if (hc[key] !== undefined) issues.duration(hc[key], field(path, key), true);
  }
  if (hc['jitter'] !== undefined) issues.duration(hc['jitter'], field(path, 'jitter'));
  for (const key of ['healthyThreshold', 'unhealthyThreshold']) {
    if (hc[key] !== undefined) issues.integer(hc[key], field(path, key), 1, UINT32_MAX);
  }
}

function validateHttpProbe(value: unknown, path: string, issues: Issues): void {
  const http = issues.object(value, path, ['path', 'expectedStatuses', 'host']);
  if (!http) return;
  if (issues.required(http, path, 'path', 'a path starting with "/"')) {
    const p = http['path'];
    if (typeof p !== 'string' || !p.startsWith('/'))
      issues.expected(field(path, 'path'), 'a path starting with "/"', p);
  }
  if (http['host'] !== undefined) issues.string(http['host'], field(path, 'host'));
  if (http['expectedStatuses'] !== undefined) {
    const at = field(path, 'expectedStatuses');
    const statuses = issues.list(http['expectedStatuses'], at, 'status codes or ranges', true);
    statuses?.forEach((s, i) => {
      if (statusRange(s) === undefined) {
        issues.expected(field(at, i), 'a status code from 100 to 599 or a range such as "200-299"', s);
      }
    });
  }
}

/** [first, last] for a status code (204) or an inclusive range ("200-299"); undefined when neither. */
export function statusRange(value: unknown): [number, number] | undefined {
  let range: [number, number] | undefined;
  if (typeof value === 'number') range = [value, value];
  else if (typeof value === 'string') {
    const m = STATUS_RANGE.exec(value);
    if (m) range = [Number(m[1]), Number(m[2])];
  }
  if (!range) return undefined;
  const [lo, hi] = range;
  return Number.isInteger(lo) && lo >= 100 && lo <= hi && hi <= 599 ? range : undefined;
}
