// responseCache validation: the largest body stored and the headers responses may vary on.
import { expectErrors, policyErrors } from './testing.ts';

const c = (responseCache: unknown) => policyErrors({ responseCache });

describe('validate responseCache', () => {
  it('accepts the defaults, a body bound and vary headers', () => {
    expectErrors(c, [
      [{}, []],
      [{ maxBodyBytes: 65536, varyHeaders: ['accept-language', 'x-tenant'] }, []],
    ]);
  });

  it('names the field and what was expected', () => {
    expectErrors(c, [
      [
        { maxBodyBytes: 0, varyHeaders: ['Accept-Language', 3], ttl: '1m' },
        [
          'spec.responseCache.ttl: unknown field, expected one of maxBodyBytes|varyHeaders',
          'spec.responseCache.maxBodyBytes: expected an integer from 1 to 67108864, got 0',
          'spec.responseCache.varyHeaders[0]: expected a lower-case header name such as accept-language, got "Accept-Language"',
          'spec.responseCache.varyHeaders[1]: expected a lower-case header name such as accept-language, got 3',
        ],
      ],
    ]);
  });
});
