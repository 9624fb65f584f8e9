// Validates a TrafficPolicy's connectionPool: connect/idle timeouts, circuit-breaker limits and the retry budget.
import { field, type Issues, UINT32_MAX } from './issues.ts';

export const CONNECTION_POOL_FIELDS = [
  'connectTimeout',
  'idleTimeout',
  'maxConnections',
  'maxPendingRequests',
  'maxRequests',
  'maxRetries',
  'retryBudget',
];

export function validateConnectionPool(value: unknown, path: string, issues: Issues): void {
  const pool = issues.object(value, path, CONNECTION_POOL_FIELDS);
  if (!pool) return;
  if (pool['connectTimeout'] !== undefined)
    issues.duration(pool['connectTimeout'], field(path, 'connectTimeout'), true);
  if (pool['idleTimeout'] !== undefined) issues.duration(pool['idleTimeout'], field(path, 'idleTimeout'));
  for (const key of ['maxConnections', 'maxPendingRequests', 'maxRequests']) {
    if (pool[key] !== undefined) issues.integer(pool[key], field(path, key), 1, UINT32_MAX);
  }
  if (pool['maxRetries'] !== undefined) issues.integer(pool['maxRetries'], field(path, 'maxRetries'), 0, UINT32_MAX);
  if (pool['retryBudget'] !== undefined) {
    const at = field(path, 'retryBudget');
    if (pool['maxRetries'] !== undefined) {
      issues.add(at, 'not together with maxRetries (a retry budget replaces the maxRetries limit)');
    }
    const budget = issues.object(pool['retryBudget'], at, ['percent', 'minRetryConcurrency']);
    if (budget?.['percent'] !== undefined) issues.number(budget['percent'], field(at, 'percent'), 0, 100);
    if (budget?.['minRetryConcurrency'] !== undefined) {
      issues.integer(budget['minRetryConcurrency'], field(at, 'minRetryConcurrency'), 0, UINT32_MAX);
    }
  }
}
