// rateLimit validation: requests per unit, the unit, the burst, enforcement.
import { expectErrors, policyErrors } from './testing.ts';

const rl = (rateLimit: unknown) => policyErrors({ rateLimit });

describe('validate rateLimit', () => {
  it('accepts a rate per unit, a burst and a dry run', () => {
    expectErrors(rl, [
      [{ requestsPerUnit: 100, unit: 'second' }, []],
      [{ requestsPerUnit: 5, unit: 'minute', burst: 20, enforce: false }, []],
    ]);
  });

  it('names the field and what was expected', () => {
    expectErrors(rl, [
      [
        {},
        [
          'spec.rateLimit.requestsPerUnit: required, expected an integer from 1 to 4294967295',
          'spec.rateLimit.unit: required, expected second, minute, hour',
        ],
      ],
      [
        { requestsPerUnit: 0, unit: 'day' },
        [
          'spec.rateLimit.requestsPerUnit: expected an integer from 1 to 4294967295, got 0',
          'spec.rateLimit.unit: expected one of second|minute|hour, got "day"',
        ],
      ],
      [
        { requestsPerUnit: 1, unit: 'second', burst: 1.5, enforce: 'yes' },
        [
          'spec.rateLimit.burst: expected an integer from 1 to 4294967295, got 1.5',
          'spec.rateLimit.enforce: expected true or false, got "yes"',
        ],
      ],
    ]);
  });

  it('checks a per-client bucket (by address or header), alone or beside the service-wide one', () => {
    expectErrors(rl, [
      [{ perClient: { requestsPerUnit: 10, unit: 'second' } }, []],
      [
        {
          requestsPerUnit: 100,
          unit: 'second',
          perClient: { requestsPerUnit: 5, unit: 'minute', by: { header: 'x-api-key' } },
        },
        [],
      ],
      [
        { burst: 3, perClient: { requestsPerUnit: 0, by: { header: 'X-Api-Key', cookie: 'a' } } },
        [
          'spec.rateLimit.burst: needs requestsPerUnit and unit',
          'spec.rateLimit.perClient.requestsPerUnit: expected an integer from 1 to 4294967295, got 0',
          'spec.rateLimit.perClient.unit: required, expected second, minute, hour',
          'spec.rateLimit.perClient.by.cookie: unknown field, expected one of header',
          'spec.rateLimit.perClient.by.header: expected a lower-case header name such as x-api-key, got "X-Api-Key"',
        ],
      ],
    ]);
  });
});
