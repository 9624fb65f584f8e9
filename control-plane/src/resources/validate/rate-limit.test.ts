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
});
