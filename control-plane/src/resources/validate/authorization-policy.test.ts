// AuthorizationPolicy validation: Istio's shape, every value checked for what it is matched as, each error naming its
// field.
import { expect } from 'chai';
import { checkReferences } from '../references.ts';
import type { AuthorizationPolicyResource } from '../types.ts';
import { expectErrors } from './testing.ts';
import { validateResource } from './validate.ts';

function errors(spec: Record<string, unknown>): string[] {
  const doc = { apiVersion: 'trellis.dev/v1', kind: 'AuthorizationPolicy', metadata: { name: 'web' }, spec };
  const prefix = 'document 1 (AuthorizationPolicy web): ';
  return validateResource(doc, 'document 1').errors.map((e) => e.slice(prefix.length));
}

describe('validate AuthorizationPolicy', () => {
  it('accepts Istio-shaped policies', () => {
    expectErrors(errors, [
      [{}, []],
      [{ selector: { service: 'web' }, action: 'DENY', dryRun: true, rules: [{}] }, []],
      [
        {
          action: 'ALLOW',
          rules: [
            {
              from: [
                { source: { principals: ['cluster.local/ns/default/sa/client', 'spiffe://td/ns/x/*'] } },
                { source: { namespaces: ['prod-*', 'default'], notIpBlocks: ['10.0.0.0/8', '192.0.2.1'] } },
              ],
              to: [
                { operation: { methods: ['GET'], paths: ['/orders/*', '*.json'], ports: [8080], hosts: ['*.shop'] } },
              ],
              when: [
                { key: 'request.headers[x-tenant]', values: ['acme'] },
                { key: 'source.ip', notValues: ['fd00::/8'] },
                { key: 'destination.port', values: ['8080'] },
              ],
            },
          ],
        },
        [],
      ],
    ]);
  });

  it('refuses bad values by field', () => {
    expectErrors(errors, [
      [{ action: 'allow' }, ['spec.action: expected one of ALLOW|DENY|AUDIT, got "allow"']],
      [{ rules: [{ from: [] }] }, ['spec.rules[0].from: expected a non-empty list of { source: … }, got a list']],
      [{ rules: [{ from: [{ source: {} }] }] }, ['spec.rules[0].from[0].source: expected at least one field']],
      [
        { rules: [{ from: [{ source: { principals: ['a*b'] } }] }] },
        [
          'spec.rules[0].from[0].source.principals[0]: expected a SPIFFE id such as cluster.local/ns/default/sa/web (* at one end), got "a*b"',
        ],
      ],
      [
        { rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/33'] } }] }] },
        [
          'spec.rules[0].from[0].source.ipBlocks[0]: expected an IP address or CIDR such as 10.0.0.0/8, got "10.0.0.0/33"',
        ],
      ],
      [
        { rules: [{ to: [{ operation: { paths: ['/api/{*}'] } }] }] },
        [
          'spec.rules[0].to[0].operation.paths[0]: expected a path (templates such as {*} and {**} are not supported), got "/api/{*}"',
        ],
      ],
      [
        { rules: [{ to: [{ operation: { ports: [0], methods: ['get'] } }] }] },
        [
          'spec.rules[0].to[0].operation.ports[0]: expected an integer from 1 to 65535, got 0',
          'spec.rules[0].to[0].operation.methods[0]: expected an HTTP method such as GET, got "get"',
        ],
      ],
      [
        { rules: [{ from: [{ source: { requestPrincipals: ['a*b'] } }] }] },
        [
          'spec.rules[0].from[0].source.requestPrincipals[0]: expected <iss>/<sub> of a JWT, <iss>/*, */<sub> or *, got "a*b"',
        ],
      ],
      [{ rules: [{ when: [{ key: 'request.auth.claims[groups]', values: ['admin'] }] }] }, []],
      [
        { rules: [{ when: [{ key: 'source.user', values: ['x'] }] }] },
        [
          'spec.rules[0].when[0].key: expected request.headers[<name>], request.auth.claims[<name>] or one of request.auth.principal|request.auth.audiences|request.auth.presenter|source.ip|remote.ip|source.namespace|source.principal|destination.ip|destination.port|connection.sni, got "source.user"',
        ],
      ],
      [{ rules: [{ when: [{ key: 'source.ip' }] }] }, ['spec.rules[0].when[0]: expected values or notValues']],
      [{ rules: [{ what: 1 }] }, ['spec.rules[0].what: unknown field, expected one of from|to|when']],
    ]);
  });

  it('bounds what becomes one RBAC filter: values per policy, and per service and action across policies', () => {
    const paths = (n: number) => Array.from({ length: n }, (_, i) => `/p${i}`);
    // 17 rules of 60 paths: within the per-field bounds, over the per-policy total.
    const big = { rules: Array.from({ length: 17 }, () => ({ to: [{ operation: { paths: paths(60) } }] })) };
    expect(errors(big)).to.deep.equal(['spec.rules: at most 1000 values in one policy, got 1020 (split it)']);
    const policy = (name: string, service?: string): AuthorizationPolicyResource => ({
      apiVersion: 'trellis.dev/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name },
      spec: {
        ...(service === undefined ? {} : { selector: { service } }),
        action: 'DENY',
        rules: Array.from({ length: 15 }, () => ({ to: [{ operation: { paths: paths(60) } }] })),
      },
    });
    // 11 policies of 915 values and rules each on one service: 10,065 in one filter.
    const many = Array.from({ length: 11 }, (_, i) => policy(`p${i}`, 'web'));
    expect(checkReferences(many)).to.deep.equal([
      'AuthorizationPolicy: service "web" (with the mesh-wide ones): the DENY policies hold 10065 values and rules in all, at most 10000 (one RBAC filter)',
    ]);
    expect(checkReferences(many.slice(0, 10))).to.deep.equal([]);
  });
});
