// Route rule retries and idleTimeout validation: status codes, the retriable-status-codes condition, back-off.
import { expectErrors, ruleErrors } from './testing.ts';

const retries = (r: unknown) => ruleErrors({ retries: r });

describe('validate retries', () => {
  it('accepts status codes (with or without naming the condition) and back-off', () => {
    expectErrors(retries, [
      [{ attempts: 2, retriableStatusCodes: [503, 429] }, []],
      [{ attempts: 2, retryOn: ['retriable-status-codes', '5xx'], retriableStatusCodes: [409] }, []],
      [{ attempts: 1, backoff: { baseInterval: '25ms' } }, []],
      [{ attempts: 1, backoff: { baseInterval: '25ms', maxInterval: '25ms' } }, []],
    ]);
  });

  it('checks status codes and the condition that uses them', () => {
    expectErrors(retries, [
      [
        { attempts: 2, retryOn: ['retriable-status-codes'] },
        [
          'spec.http[0].retries.retryOn[0]: retriable-status-codes needs retriableStatusCodes (the statuses to retry on)',
        ],
      ],
      [
        { attempts: 2, retriableStatusCodes: [503, 99, 503, '502'] },
        [
          'spec.http[0].retries.retriableStatusCodes[1]: expected an integer from 100 to 599, got 99',
          'spec.http[0].retries.retriableStatusCodes[2]: duplicate status 503',
          'spec.http[0].retries.retriableStatusCodes[3]: expected an integer from 100 to 599, got "502"',
        ],
      ],
      [
        { attempts: 2, retriableStatusCodes: [] },
        ['spec.http[0].retries.retriableStatusCodes: expected a non-empty list of HTTP status codes, got a list'],
      ],
    ]);
  });

  it('checks back-off', () => {
    expectErrors(retries, [
      [
        { attempts: 1, backoff: { maxInterval: '1s' } },
        ['spec.http[0].retries.backoff.baseInterval: required, expected a duration > 0 such as "25ms"'],
      ],
      [
        { attempts: 1, backoff: { baseInterval: '0s', maxInterval: 'x' } },
        [
          'spec.http[0].retries.backoff.baseInterval: expected a duration > 0 such as "5s" or "500ms", got "0s"',
          'spec.http[0].retries.backoff.maxInterval: expected a duration > 0 such as "5s" or "500ms", got "x"',
        ],
      ],
      [
        { attempts: 1, backoff: { baseInterval: '1s', maxInterval: '100ms' } },
        ['spec.http[0].retries.backoff.maxInterval: expected at least baseInterval (1s), got "100ms"'],
      ],
      [
        { attempts: 1, backoff: { base: '1s', baseInterval: '1s' } },
        ['spec.http[0].retries.backoff.base: unknown field, expected one of baseInterval|maxInterval'],
      ],
    ]);
  });

  it('checks the rule idleTimeout (0s allowed: never)', () => {
    expectErrors(
      (idleTimeout: unknown) => ruleErrors({ idleTimeout }),
      [
        ['0s', []],
        ['5m', []],
        [300, ['spec.http[0].idleTimeout: expected a duration such as "2s" or "500ms", got 300']],
      ],
    );
  });
});
