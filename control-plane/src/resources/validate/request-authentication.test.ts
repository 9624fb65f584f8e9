// RequestAuthentication validation: Istio's shape, one source of keys per rule (inline JWKS, an https URI, a file),
// each error naming its field.
import { expectErrors } from './testing.ts';
import { validateResource } from './validate.ts';

function errors(spec: Record<string, unknown>): string[] {
  const doc = { apiVersion: 'trellis.dev/v1', kind: 'RequestAuthentication', metadata: { name: 'web' }, spec };
  const prefix = 'document 1 (RequestAuthentication web): ';
  return validateResource(doc, 'document 1').errors.map((e) => e.slice(prefix.length));
}

const JWKS = '{"keys":[{"kty":"EC","crv":"P-256","x":"x","y":"y"}]}';

describe('validate RequestAuthentication', () => {
  it('accepts Istio-shaped JWT rules', () => {
    expectErrors(errors, [
      [{ jwtRules: [{ issuer: 'https://a', jwks: JWKS }] }, []],
      [
        {
          selector: { service: 'web' },
          jwtRules: [
            {
              issuer: 'https://a',
              audiences: ['web'],
              jwksUri: 'https://a/.well-known/jwks.json',
              fromHeaders: [{ name: 'x-jwt', prefix: 'Bearer ' }],
              fromCookies: ['session'],
              forwardOriginalToken: true,
              outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }],
              outputPayloadToHeader: 'x-jwt-payload',
            },
            { issuer: 'https://b', jwksFile: '/etc/jwks/b.json' },
          ],
        },
        [],
      ],
    ]);
  });

  it('refuses bad rules by field', () => {
    expectErrors(errors, [
      [{}, ['spec.jwtRules: required, expected a list of { issuer, jwks|jwksUri|jwksFile, … }']],
      [
        { jwtRules: [{ issuer: 'https://a' }] },
        ['spec.jwtRules[0]: expected exactly one of jwks|jwksUri|jwksFile, got none'],
      ],
      [
        { jwtRules: [{ issuer: 'https://a', jwksUri: 'http://a/jwks' }] },
        ['spec.jwtRules[0].jwksUri: expected an https:// URL, got "http://a/jwks"'],
      ],
      [
        { jwtRules: [{ issuer: 'https://a', jwks: '{"nokeys":1}' }] },
        ['spec.jwtRules[0].jwks: expected a JWKS: { "keys": [ … ] }'],
      ],
      [
        { jwtRules: [{ issuer: 'https://a', jwksFile: 'relative.json' }] },
        ['spec.jwtRules[0].jwksFile: expected an absolute path, got "relative.json"'],
      ],
      [
        {
          jwtRules: [
            { issuer: 'https://a', jwks: JWKS },
            { issuer: 'https://a', jwks: JWKS },
          ],
        },
        ['spec.jwtRules[1].issuer: issuer "https://a" appears twice'],
      ],
      [
        {
          jwtRules: [
            { issuer: 'https://a', jwks: JWKS, outputClaimToHeaders: [{ header: 'bad header', claim: 'sub' }] },
          ],
        },
        ['spec.jwtRules[0].outputClaimToHeaders[0].header: expected a header name, got "bad header"'],
      ],
    ]);
  });
});
