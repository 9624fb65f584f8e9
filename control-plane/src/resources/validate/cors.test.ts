// A Route rule's cors: origin matches, tokens for methods and headers, maxAge, credentials.
import { expectErrors, ruleErrors } from './testing.ts';

const c = (cors: unknown) => ruleErrors({ cors });

describe('validate cors', () => {
  it('accepts origins (exact, prefix, regex) and the optional lists', () => {
    expectErrors(c, [
      [{ allowOrigins: [{ exact: 'https://shop.example' }] }, []],
      [
        {
          allowOrigins: [{ prefix: 'https://' }, { regex: 'https://.*\\.example' }],
          allowMethods: ['GET', 'POST'],
          allowHeaders: ['content-type', '*'],
          exposeHeaders: ['x-request-id'],
          maxAge: '24h',
          allowCredentials: true,
        },
        [],
      ],
    ]);
  });

  it('names the field and what was expected', () => {
    expectErrors(c, [
      [
        {},
        [
          'spec.http[0].cors.allowOrigins: required, expected a non-empty list of origin matches ({exact|prefix|regex})',
        ],
      ],
      [
        {
          allowOrigins: [{ present: true }, { regex: '(' }],
          allowMethods: ['GET POST'],
          maxAge: 'soon',
          allowCredentials: 1,
          vary: true,
        },
        [
          'spec.http[0].cors.vary: unknown field, expected one of allowOrigins|allowMethods|allowHeaders|exposeHeaders|maxAge|allowCredentials',
          'spec.http[0].cors.allowOrigins[0].present: an origin match needs a value',
          'spec.http[0].cors.allowOrigins[1].regex: expected an RE2 regular expression, got "(": missing closing ): `(`',
          'spec.http[0].cors.allowMethods[0]: expected a token such as GET or x-token, got "GET POST"',
          'spec.http[0].cors.maxAge: expected a duration such as "2s" or "500ms", got "soon"',
          'spec.http[0].cors.allowCredentials: expected true or false, got 1',
        ],
      ],
    ]);
  });
});
