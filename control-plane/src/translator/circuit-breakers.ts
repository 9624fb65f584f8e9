// Cluster.circuit_breakers: the connection pool's limits and retry budget as DEFAULT-priority thresholds.

import type { ClientKind } from '@trellis/node-contract';
import type { ConnectionPool } from '../resources/types.ts';
import { compact, u32 } from './proto-values.ts';

function optU32(value: number | undefined): { value: number } | undefined {
  return value === undefined ? undefined : u32(value);
}

function retryBudget(budget: ConnectionPool['retryBudget']): Record<string, unknown> | undefined {
  if (!budget) return undefined;
  return compact({
    budget_percent: budget.percent === undefined ? undefined : { value: budget.percent },
    min_retry_concurrency: optU32(budget.minRetryConcurrency),
  });
}

/** circuit_breakers for a client; proxyless gRPC reads only max_requests, so that is all it gets. */
export function circuitBreakers(
  pool: ConnectionPool | undefined,
  client: ClientKind,
): Record<string, unknown> | undefined {
  if (!pool) return undefined;
  const threshold =
    client === 'proxyless'
      ? compact({ max_requests: optU32(pool.maxRequests) })
      : compact({
          max_connections: optU32(pool.maxConnections),
          max_pending_requests: optU32(pool.maxPendingRequests),
          max_requests: optU32(pool.maxRequests),
          max_retries: optU32(pool.maxRetries),
          retry_budget: retryBudget(pool.retryBudget),
        });
  if (Object.keys(threshold).length === 0) return undefined;
  return { thresholds: [{ priority: 'DEFAULT', ...threshold }] };
}
