// Route rules answered by the proxy: redirect and directResponse instead of route, each field checked.
import { expect } from 'chai';
import { expectErrors } from './testing.ts';
import { validateResource } from './validate.ts';

/** The errors of Route orders holding this one rule as given (no destination added). */
function errorsOf(rule: Record<string, unknown>): string[] {
  const doc = {
    apiVersion: 'trellis.dev/v1',
    kind: 'Route',
    metadata: { name: 'orders' },
    spec: { hosts: ['orders'], http: [rule] },
  };
  return validateResource(doc, 'document 1').errors.map((e) => e.replace('document 1 (Route orders): ', ''));
}

describe('validate redirect and directResponse', () => {
  it('accepts a redirect or a direct response instead of destinations', () => {
    expectErrors(errorsOf, [
      [{ redirect: { scheme: 'https' } }, []],
      [{ redirect: { host: 'x.example', port: 8443, prefix: '/new', code: 308, stripQuery: true } }, []],
      [{ directResponse: { status: 410, body: 'gone' } }, []],
    ]);
  });

  it('wants exactly one of route, redirect and directResponse, and checks each field', () => {
    expectErrors(errorsOf, [
      [{}, ['spec.http[0]: expected exactly one of route|redirect|directResponse, got none']],
      [
        { route: [{ service: 'orders' }], redirect: { scheme: 'https' } },
        ['spec.http[0]: expected exactly one of route|redirect|directResponse, got route and redirect'],
      ],
      [
        { redirect: { path: '/a', prefix: '/b', code: 200, scheme: 'ht tp' } },
        [
          'spec.http[0].redirect: expected at most one of path|prefix, got path and prefix',
          'spec.http[0].redirect.scheme: expected a URL scheme such as https, got "ht tp"',
          'spec.http[0].redirect.code: expected 301, 302, 303, 307, 308, got 200',
        ],
      ],
      [
        { directResponse: { status: 99 } },
        ['spec.http[0].directResponse.status: expected an integer from 200 to 599, got 99'],
      ],
    ]);
    expect(errorsOf({ redirect: { scheme: 'https' }, mirror: { service: 'shop' } })).to.deep.equal([
      'spec.http[0].mirror: mirrors copy forwarded requests: the rule needs route',
    ]);
    expect(errorsOf({ route: [{ service: 'orders' }], mirror: { port: 0, percent: 150 } })).to.deep.equal([
      'spec.http[0].mirror.service: required, expected a service name',
      'spec.http[0].mirror.port: expected an integer from 1 to 65535, got 0',
      'spec.http[0].mirror.percent: expected a number from 0 to 100, got 150',
    ]);
    expect(errorsOf({ redirect: {} })).to.deep.equal([
      'spec.http[0].redirect: needs scheme, host, port, path or prefix (a redirect to the same URL would loop)',
    ]);
    expect(errorsOf({ directResponse: { status: 403 }, timeout: '1s' })).to.deep.equal([
      'spec.http[0].timeout: applies to forwarded requests only: the rule needs route',
    ]);
    expect(errorsOf({ redirect: { path: 'no-slash' } })).to.deep.equal([
      'spec.http[0].redirect.path: expected a path starting with "/" (no spaces), got "no-slash"',
    ]);
  });
});
