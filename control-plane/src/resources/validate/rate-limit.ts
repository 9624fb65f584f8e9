// Validates a TrafficPolicy's rateLimit: requests per unit, the unit, the burst, enforcement.
import { field, type Issues } from './issues.ts';

export const RATE_LIMIT_UNITS = ['second', 'minute', 'hour'] as const;
/** Envoy's token bucket counts in uint32. */
const MAX_TOKENS = 4_294_967_295;

export function validateRateLimit(value: unknown, path: string, issues: Issues): void {
  const r = issues.object(value, path, ['requestsPerUnit', 'unit', 'burst', 'enforce']);
  if (!r) return;
  if (issues.required(r, path, 'requestsPerUnit', `an integer from 1 to ${MAX_TOKENS}`))
    issues.integer(r['requestsPerUnit'], field(path, 'requestsPerUnit'), 1, MAX_TOKENS);
  if (issues.required(r, path, 'unit', RATE_LIMIT_UNITS.join(', ')))
    issues.oneOf(r['unit'], field(path, 'unit'), RATE_LIMIT_UNITS);
  if (r['burst'] !== undefined) issues.integer(r['burst'], field(path, 'burst'), 1, MAX_TOKENS);
  if (r['enforce'] !== undefined) issues.boolean(r['enforce'], field(path, 'enforce'));
}
