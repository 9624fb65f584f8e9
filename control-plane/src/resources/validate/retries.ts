// Validates a Route rule's retries: attempts, per-try timeout, conditions, retriable status codes and back-off.
import { parseDuration } from '../duration.ts';
import { field, type Issues } from './issues.ts';

export const RETRY_ON = [
  '5xx',
  'gateway-error',
  'reset',
  'connect-failure',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
] as const;

export const MAX_RETRY_ATTEMPTS = 10;

export const RETRIES_FIELDS = ['attempts', 'perTryTimeout', 'retryOn', 'retriableStatusCodes', 'backoff'];

export function validateRetries(value: unknown, path: string, issues: Issues): void {
  const r = issues.object(value, path, RETRIES_FIELDS);
  if (!r) return;
  if (issues.required(r, path, 'attempts', `an integer from 0 to ${MAX_RETRY_ATTEMPTS}`)) {
    issues.integer(r['attempts'], field(path, 'attempts'), 0, MAX_RETRY_ATTEMPTS);
  }
  if (r['perTryTimeout'] !== undefined) issues.duration(r['perTryTimeout'], field(path, 'perTryTimeout'), true);
  if (r['retryOn'] !== undefined) {
    const on = issues.list(r['retryOn'], field(path, 'retryOn'), 'retry conditions', true);
    const seen = new Set<unknown>();
    on?.forEach((v, i) => {
      const at = field(field(path, 'retryOn'), i);
      if (issues.oneOf(v, at, RETRY_ON) && seen.has(v)) issues.add(at, `duplicate retry condition "${v}"`);
      else if (v === 'retriable-status-codes' && r['retriableStatusCodes'] === undefined) {
        issues.add(at, 'retriable-status-codes needs retriableStatusCodes (the statuses to retry on)');
      }
      seen.add(v);
    });
  }
  if (r['retriableStatusCodes'] !== undefined) {
    const at = field(path, 'retriableStatusCodes');
    const codes = issues.list(r['retriableStatusCodes'], at, 'HTTP status codes', true);
    const seen = new Set<unknown>();
    codes?.forEach((c, i) => {
      if (issues.integer(c, field(at, i), 100, 599) && seen.has(c)) issues.add(field(at, i), `duplicate status ${c}`);
      seen.add(c);
    });
  }
  if (r['backoff'] !== undefined) validateBackoff(r['backoff'], field(path, 'backoff'), issues);
}

function validateBackoff(value: unknown, path: string, issues: Issues): void {
  const b = issues.object(value, path, ['baseInterval', 'maxInterval']);
  if (!b) return;
  const base = b['baseInterval'];
  const max = b['maxInterval'];
  const baseOk =
    issues.required(b, path, 'baseInterval', 'a duration > 0 such as "25ms"') &&
    issues.duration(base, field(path, 'baseInterval'), true);
  if (max === undefined || !issues.duration(max, field(path, 'maxInterval'), true) || !baseOk) return;
  if ((parseDuration(max as string) ?? 0) < (parseDuration(base as string) ?? 0)) {
    issues.add(field(path, 'maxInterval'), `expected at least baseInterval (${String(base)}), got "${String(max)}"`);
  }
}
