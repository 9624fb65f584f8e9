// The RBAC engine on its own: each permission and principal kind against the facts of a request, the three actions.
import { expect } from 'chai';
import type { RbacPermission, RbacPrincipal, RbacRules } from '../../config/model.ts';
import { CompiledRbac, type RbacFacts } from './rbac-engine.ts';

const facts = (over: Partial<RbacFacts> = {}): RbacFacts => ({
  header: (name) => (name === ':method' ? 'GET' : name === 'x-user' ? 'alice' : undefined),
  path: '/orders/1',
  directRemoteIp: '::ffff:10.1.2.3',
  remoteIp: '192.0.2.7',
  localIp: '10.0.0.1',
  localPort: 8080,
  peerPrincipal: 'spiffe://cluster.local/ns/default/sa/web',
  serverName: 'shop.example.com',
  metadata: (filter) => (filter === 'jwt' ? { payload: { groups: ['admin', 'dev'], sub: 'alice' } } : undefined),
  ...over,
});

const allowIf = (permission: RbacPermission, principal: RbacPrincipal = { kind: 'any' }): CompiledRbac =>
  new CompiledRbac({ action: 'ALLOW', policies: [{ name: 'p', permissions: [permission], principals: [principal] }] });

describe('RBAC engine', () => {
  it('permissions: ports (exact, range), addresses, SNI, paths, headers, and/or/not', () => {
    const yes = (p: RbacPermission) => allowIf(p).evaluate(facts()).allowed;
    expect(yes({ kind: 'destinationPort', port: 8080 })).to.equal(true);
    expect(yes({ kind: 'destinationPort', port: 8081 })).to.equal(false);
    expect(yes({ kind: 'destinationPortRange', start: 8000, end: 8081 })).to.equal(true);
    expect(yes({ kind: 'destinationPortRange', start: 8081, end: 9000 })).to.equal(false);
    expect(yes({ kind: 'destinationIp', cidr: { address: '10.0.0.0', prefixLen: 24 } })).to.equal(true);
    expect(yes({ kind: 'serverName', name: { kind: 'suffix', value: '.example.com', ignoreCase: false } })).to.equal(
      true,
    );
    expect(yes({ kind: 'path', path: { kind: 'prefix', value: '/orders/', ignoreCase: false } })).to.equal(true);
    expect(
      yes({
        kind: 'header',
        header: { name: ':method', matcher: { kind: 'exact', value: 'POST', ignoreCase: false }, invert: false },
      }),
    ).to.equal(false);
    expect(yes({ kind: 'not', rule: { kind: 'destinationPort', port: 1 } })).to.equal(true);
    expect(
      yes({
        kind: 'and',
        rules: [
          { kind: 'destinationPort', port: 8080 },
          { kind: 'destinationPort', port: 1 },
        ],
      }),
    ).to.equal(false);
    expect(
      yes({
        kind: 'or',
        rules: [
          { kind: 'destinationPort', port: 1 },
          { kind: 'destinationPort', port: 8080 },
        ],
      }),
    ).to.equal(true);
  });

  it('principals: the mTLS identity, the peer (IPv4 on a dual-stack socket) and client addresses, metadata', () => {
    const yes = (p: RbacPrincipal, over?: Partial<RbacFacts>) =>
      allowIf({ kind: 'any' }, p).evaluate(facts(over)).allowed;
    expect(yes({ kind: 'authenticated' })).to.equal(true);
    expect(yes({ kind: 'authenticated' }, { peerPrincipal: undefined })).to.equal(false);
    expect(
      yes({
        kind: 'authenticated',
        name: { kind: 'exact', value: 'spiffe://cluster.local/ns/default/sa/web', ignoreCase: false },
      }),
    ).to.equal(true);
    expect(yes({ kind: 'directRemoteIp', cidr: { address: '10.0.0.0', prefixLen: 8 } })).to.equal(true);
    expect(yes({ kind: 'remoteIp', cidr: { address: '10.0.0.0', prefixLen: 8 } })).to.equal(false);
    expect(yes({ kind: 'remoteIp', cidr: { address: '192.0.2.7', prefixLen: 32 } })).to.equal(true);
    const groups = { filter: 'jwt', path: ['payload', 'groups'], invert: false };
    expect(
      yes({
        kind: 'metadata',
        metadata: {
          ...groups,
          value: {
            kind: 'list',
            oneOf: { kind: 'string', matcher: { kind: 'exact', value: 'admin', ignoreCase: false } },
          },
        },
      }),
    ).to.equal(true);
    expect(
      yes({
        kind: 'metadata',
        metadata: {
          ...groups,
          value: { kind: 'string', matcher: { kind: 'exact', value: 'admin', ignoreCase: false } },
        },
      }),
    ).to.equal(false);
    expect(
      yes({
        kind: 'metadata',
        metadata: { filter: 'jwt', path: ['payload', 'nope'], value: { kind: 'present' }, invert: true },
      }),
    ).to.equal(true);
  });

  it('ALLOW lets through what a policy matches, DENY what none does, LOG everything', () => {
    const rules = (action: RbacRules['action']) =>
      new CompiledRbac({
        action,
        policies: [
          {
            name: 'orders',
            permissions: [{ kind: 'path', path: { kind: 'prefix', value: '/orders', ignoreCase: false } }],
            principals: [{ kind: 'any' }],
          },
        ],
      });
    const other = facts({ path: '/admin' });
    expect([rules('ALLOW').evaluate(facts()), rules('ALLOW').evaluate(other)].map((d) => d.allowed)).to.deep.equal([
      true,
      false,
    ]);
    expect([rules('DENY').evaluate(facts()), rules('DENY').evaluate(other)].map((d) => d.allowed)).to.deep.equal([
      false,
      true,
    ]);
    expect(rules('LOG').evaluate(facts())).to.deep.equal({ allowed: true, policy: 'orders' });
  });
});
