// connectionPool validation: timeouts, limits and the retry budget (which replaces maxRetries).
import { expectErrors, policyErrors } from './testing.ts';

const pool = (connectionPool: unknown) => policyErrors({ connectionPool });

describe('validate connectionPool', () => {
  it('accepts limits, idle timeouts (0s = never) and a retry budget', () => {
    expectErrors(pool, [
      [{ connectTimeout: '1s', idleTimeout: '0s', maxConnections: 1, maxPendingRequests: 1, maxRequests: 1 }, []],
      [{ retryBudget: { percent: 12.5, minRetryConcurrency: 0 } }, []],
      [{ retryBudget: {} }, []],
    ]);
  });

  it('rejects bad values and a budget next to maxRetries', () => {
    expectErrors(pool, [
      [
        { idleTimeout: '10', retryBudget: { percent: 120, minRetryConcurrency: -1 } },
        [
          'spec.connectionPool.idleTimeout: expected a duration such as "2s" or "500ms", got "10"',
          'spec.connectionPool.retryBudget.percent: expected a number from 0 to 100, got 120',
          'spec.connectionPool.retryBudget.minRetryConcurrency: expected an integer from 0 to 4294967295, got -1',
        ],
      ],
      [
        { maxRetries: 3, retryBudget: { percent: 20 } },
        [
          'spec.connectionPool.retryBudget: not together with maxRetries (a retry budget replaces the maxRetries limit)',
        ],
      ],
      [
        { retryBudget: { budget: 20 } },
        ['spec.connectionPool.retryBudget.budget: unknown field, expected one of percent|minRetryConcurrency'],
      ],
    ]);
  });
});
