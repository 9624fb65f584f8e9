// Validates a TrafficPolicy's outlierDetection: consecutive-error, success-rate and failure-percentage detectors.
import { parseDuration } from '../duration.ts';
import { field, type Issues, UINT32_MAX } from './issues.ts';

export const OUTLIER_DETECTION_FIELDS = [
  'consecutive5xx',
  'consecutiveGatewayErrors',
  'consecutiveLocalOriginFailures',
  'splitExternalLocalOriginErrors',
  'interval',
  'baseEjectionTime',
  'maxEjectionTime',
  'maxEjectionPercent',
  'successRate',
  'failurePercentage',
];
/** Envoy keeps the stdev factor as thousandths in a uint32. */
const MAX_STDEV_FACTOR = Math.floor(UINT32_MAX / 1000);

export function validateOutlierDetection(value: unknown, path: string, issues: Issues): void {
  const od = issues.object(value, path, OUTLIER_DETECTION_FIELDS);
  if (!od) return;
  for (const key of ['consecutive5xx', 'consecutiveGatewayErrors', 'consecutiveLocalOriginFailures']) {
    if (od[key] !== undefined) issues.integer(od[key], field(path, key), 1, UINT32_MAX);
  }
  const split = od['splitExternalLocalOriginErrors'];
  if (split !== undefined) issues.boolean(split, field(path, 'splitExternalLocalOriginErrors'));
  if (od['consecutiveLocalOriginFailures'] !== undefined && split !== true) {
    issues.add(
      field(path, 'consecutiveLocalOriginFailures'),
      'only counted with splitExternalLocalOriginErrors: true (local-origin errors are otherwise counted as 5xx)',
    );
  }
  for (const key of ['interval', 'baseEjectionTime', 'maxEjectionTime']) {
    if (od[key] !== undefined) issues.duration(od[key], field(path, key), true);
  }
  const base = typeof od['baseEjectionTime'] === 'string' ? parseDuration(od['baseEjectionTime']) : undefined;
  const max = typeof od['maxEjectionTime'] === 'string' ? parseDuration(od['maxEjectionTime']) : undefined;
  if (base !== undefined && max !== undefined && max > 0 && max < base) {
    issues.add(
      field(path, 'maxEjectionTime'),
      `expected at least baseEjectionTime (${String(od['baseEjectionTime'])}), got "${String(od['maxEjectionTime'])}"`,
    );
  }
  if (od['maxEjectionPercent'] !== undefined)
    issues.integer(od['maxEjectionPercent'], field(path, 'maxEjectionPercent'), 0, 100);
  if (od['successRate'] !== undefined) {
    const at = field(path, 'successRate');
    const sr = issues.object(od['successRate'], at, ['minimumHosts', 'requestVolume', 'stdevFactor']);
    if (sr) counts(sr, at, issues);
    if (sr?.['stdevFactor'] !== undefined)
      issues.number(sr['stdevFactor'], field(at, 'stdevFactor'), 0.001, MAX_STDEV_FACTOR);
  }
  if (od['failurePercentage'] !== undefined) {
    const at = field(path, 'failurePercentage');
    const fp = issues.object(od['failurePercentage'], at, ['threshold', 'minimumHosts', 'requestVolume']);
    if (fp) counts(fp, at, issues);
    if (fp?.['threshold'] !== undefined) issues.integer(fp['threshold'], field(at, 'threshold'), 0, 100);
  }
}

/** minimumHosts and requestVolume of the statistical detectors. */
function counts(obj: Record<string, unknown>, path: string, issues: Issues): void {
  for (const key of ['minimumHosts', 'requestVolume']) {
    if (obj[key] !== undefined) issues.integer(obj[key], field(path, key), 1, UINT32_MAX);
  }
}
