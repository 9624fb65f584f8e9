// Validates a TrafficPolicy's rateLimit: the service-wide bucket (requests per unit, burst), a per-client bucket,
// enforcement.
import { field, type Issues } from './issues.ts';

export const RATE_LIMIT_UNITS = ['second', 'minute', 'hour'] as const;
/** Envoy's token bucket counts in uint32. */
const MAX_TOKENS = 4_294_967_295;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/** requestsPerUnit, unit and burst of a bucket; `required`: the first two must be there. */
function validateBucket(r: Record<string, unknown>, path: string, issues: Issues, required: boolean): void {
  if (required || r['requestsPerUnit'] !== undefined || r['unit'] !== undefined) {
    if (issues.required(r, path, 'requestsPerUnit', `an integer from 1 to ${MAX_TOKENS}`))
      issues.integer(r['requestsPerUnit'], field(path, 'requestsPerUnit'), 1, MAX_TOKENS);
    if (issues.required(r, path, 'unit', RATE_LIMIT_UNITS.join(', ')))
      issues.oneOf(r['unit'], field(path, 'unit'), RATE_LIMIT_UNITS);
  }
  if (r['burst'] !== undefined) issues.integer(r['burst'], field(path, 'burst'), 1, MAX_TOKENS);
}

export function validateRateLimit(value: unknown, path: string, issues: Issues): void {
  const r = issues.object(value, path, ['requestsPerUnit', 'unit', 'burst', 'enforce', 'perClient']);
  if (!r) return;
  const perClient = r['perClient'];
  validateBucket(r, path, issues, perClient === undefined);
  if (r['burst'] !== undefined && r['requestsPerUnit'] === undefined)
    issues.add(field(path, 'burst'), 'needs requestsPerUnit and unit');
  if (r['enforce'] !== undefined) issues.boolean(r['enforce'], field(path, 'enforce'));
  if (perClient === undefined) return;
  const ppath = field(path, 'perClient');
  const p = issues.object(perClient, ppath, ['requestsPerUnit', 'unit', 'burst', 'by']);
  if (!p) return;
  validateBucket(p, ppath, issues, true);
  if (p['by'] !== undefined) {
    const by = issues.object(p['by'], field(ppath, 'by'), ['header']);
    if (by && issues.required(by, field(ppath, 'by'), 'header', 'a lower-case header name such as x-api-key')) {
      const h = by['header'];
      if (typeof h !== 'string' || !HEADER_NAME.test(h))
        issues.expected(field(field(ppath, 'by'), 'header'), 'a lower-case header name such as x-api-key', h);
    }
  }
}
