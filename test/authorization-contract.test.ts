// AuthorizationPolicy semantics through both sides: the control plane's RBAC filters, through protobuf, decoded and
// evaluated by the sidecar's RBAC engine, over a matrix of callers × policies with the expected allow/deny of each
// (Istio's rules: no policy allows, any ALLOW policy denies the rest, DENY before ALLOW, dry run never enforces).
import { anyOf, decodeAny, EXTENSION_TYPES, TYPE_URLS, typeUrl } from '@trellis/xds-protos';
import { expect } from 'chai';
import type { AuthorizationPolicyResource, AuthorizationPolicySpec } from '../control-plane/src/resources/types.ts';
import { inboundAuthorization, policiesOf } from '../control-plane/src/translator/authorization.ts';
import { networkRbacConfig, rbacConfig } from '../sidecar/src/config/decode-rbac.ts';
import { CompiledRbac, type RbacFacts } from '../sidecar/src/filters/rbac/rbac-engine.ts';

type Obj = Record<string, unknown>;

function policy(name: string, spec: AuthorizationPolicySpec): AuthorizationPolicyResource {
  return { apiVersion: 'trellis.dev/v1', kind: 'AuthorizationPolicy', metadata: { name }, spec };
}

interface Caller {
  principal?: string;
  /** The JWT payload jwt_authn verified. */
  jwt?: Record<string, unknown>;
  ip?: string;
  method?: string;
  path?: string;
  host?: string;
  headers?: Record<string, string>;
}

function facts(c: Caller, port: number): RbacFacts {
  const headers: Record<string, string> = {
    ':method': c.method ?? 'GET',
    ':path': c.path ?? '/',
    ':authority': c.host ?? 'web:8080',
    ...c.headers,
  };
  return {
    header: (name) => headers[name],
    path: c.path ?? '/',
    directRemoteIp: c.ip ?? '10.0.0.7',
    remoteIp: c.ip ?? '10.0.0.7',
    localIp: '10.0.0.1',
    localPort: port,
    peerPrincipal: c.principal === undefined ? undefined : `spiffe://cluster.local/${c.principal}`,
    serverName: undefined,
    metadata: (filter) =>
      filter === 'envoy.filters.http.jwt_authn' && c.jwt !== undefined ? { payload: c.jwt } : undefined,
  };
}

/** Whether the inbound of `web` on `port` lets the caller through, by the decoded filters in order. */
function allowed(policies: AuthorizationPolicyResource[], c: Caller, port = 8080, tcp = false): boolean {
  const authz = inboundAuthorization(policiesOf(policies, 'web'), port, tcp);
  const filters = tcp ? authz.network : authz.http;
  for (const f of filters) {
    const { '@type': type, ...typed } = f['typed_config'] as Obj;
    const raw = decodeAny(anyOf(String(type), typed)) as Obj;
    const config = tcp ? networkRbacConfig(raw, 'x') : rbacConfig(raw, 'x');
    if (config.rules === undefined) continue;
    if (!new CompiledRbac(config.rules).evaluate(facts(c, port)).allowed) return false;
  }
  return true;
}

const CLIENT = 'ns/default/sa/client';
const ADMIN = 'ns/ops/sa/admin';
const OTHER = 'ns/default/sa/other';

describe('AuthorizationPolicy → RBAC → the sidecar engine (a matrix of callers × policies)', () => {
  const callers: Record<string, Caller> = {
    client: { principal: CLIENT },
    clientPost: { principal: CLIENT, method: 'POST', path: '/orders' },
    clientAdmin: { principal: CLIENT, path: '/admin/users' },
    admin: { principal: ADMIN, path: '/admin/users' },
    other: { principal: OTHER },
    plaintext: {},
    tenant: { principal: OTHER, headers: { 'x-tenant': 'acme' } },
    lan: { principal: OTHER, ip: '192.168.1.9' },
  };
  const policies: Record<string, AuthorizationPolicyResource[]> = {
    none: [],
    'allow-client': [
      policy('allow-client', {
        selector: { service: 'web' },
        rules: [{ from: [{ source: { principals: [`cluster.local/${CLIENT}`] } }] }],
      }),
    ],
    'allow-nothing': [policy('allow-nothing', { selector: { service: 'web' } })],
    'deny-admin-path-except-ops': [
      policy('deny-admin', {
        action: 'DENY',
        rules: [{ from: [{ source: { notNamespaces: ['ops'] } }], to: [{ operation: { paths: ['/admin/*'] } }] }],
      }),
    ],
    'deny-beats-allow': [
      policy('allow-all', { rules: [{}] }),
      policy('deny-client-writes', {
        action: 'DENY',
        rules: [{ from: [{ source: { principals: [`*/sa/client`] } }], to: [{ operation: { notMethods: ['GET'] } }] }],
      }),
    ],
    'allow-tenant-header-or-lan': [
      policy('tenant', { rules: [{ when: [{ key: 'request.headers[x-tenant]', values: ['acme'] }] }] }),
      policy('lan', { rules: [{ from: [{ source: { ipBlocks: ['192.168.0.0/16'] } }] }] }),
    ],
    'dry-run-deny-everything': [policy('dry', { action: 'DENY', dryRun: true, rules: [{}] })],
    'other-service-only': [policy('orders', { selector: { service: 'orders' } })],
    'allow-other-port': [policy('port', { rules: [{ to: [{ operation: { ports: [9090] } }] }] })],
  };
  const expected: Record<string, string[]> = {
    // the callers allowed, by policy set
    none: Object.keys(callers),
    'allow-client': ['client', 'clientPost', 'clientAdmin'],
    'allow-nothing': [],
    'deny-admin-path-except-ops': ['client', 'clientPost', 'admin', 'other', 'plaintext', 'tenant', 'lan'],
    'deny-beats-allow': ['client', 'clientAdmin', 'admin', 'other', 'plaintext', 'tenant', 'lan'],
    'allow-tenant-header-or-lan': ['tenant', 'lan'],
    'dry-run-deny-everything': Object.keys(callers),
    'other-service-only': Object.keys(callers),
    'allow-other-port': [],
  };

  for (const [name, set] of Object.entries(policies)) {
    it(`${name}: exactly ${expected[name]?.length ?? 0} of ${Object.keys(callers).length} callers through`, () => {
      const through = Object.entries(callers)
        .filter(([, c]) => allowed(set, c))
        .map(([n]) => n);
      expect(through).to.deep.equal(expected[name]);
    });
  }

  it('path rules match the path RBAC sees (normalized by the connection manager first: test/authorization.test.ts sends /orders/../admin)', () => {
    const deny = policies['deny-admin-path-except-ops'] as AuthorizationPolicyResource[];
    expect(allowed(deny, { principal: CLIENT, path: '/admin/x' })).to.equal(false);
    expect(allowed(deny, { principal: CLIENT, path: '/orders' })).to.equal(true);
  });

  it('hosts match case-insensitively with or without a port; methods and paths with Istio wildcards', () => {
    const set = [
      policy('h', { rules: [{ to: [{ operation: { hosts: ['web.shop'], methods: ['GET'], paths: ['*.json'] } }] }] }),
    ];
    expect(allowed(set, { host: 'WEB.shop:8080', path: '/a.json' })).to.equal(true);
    expect(allowed(set, { host: 'web.shop', path: '/a.json' })).to.equal(true);
    expect(allowed(set, { host: 'web.shopping', path: '/a.json' })).to.equal(false);
    expect(allowed(set, { host: 'web.shop', path: '/a.html' })).to.equal(false);
    // A wildcard host, in any case, with or without a port: a DENY catches every spelling.
    const deny = [policy('d', { action: 'DENY', rules: [{ to: [{ operation: { hosts: ['*.x.com'] } }] }] })];
    for (const host of ['a.x.com', 'A.X.COM', 'a.x.com:8080', 'A.X.Com:8080'])
      expect(allowed(deny, { host }), host).to.equal(false);
    expect(allowed(deny, { host: 'a.y.com:8080' })).to.equal(true);
  });

  it('request principals and JWT claims: matched in what jwt_authn verified; where none runs, fail closed', () => {
    const alice = { jwt: { iss: 'https://issuer.test/realm', sub: 'alice', aud: ['web', 'orders'], groups: 'admin' } };
    const bob = { jwt: { iss: 'https://other.test', sub: 'bob', aud: 'web' } };
    const anonymous = {};
    const allow = [
      policy('p', { rules: [{ from: [{ source: { requestPrincipals: ['https://issuer.test/realm/alice'] } }] }] }),
    ];
    expect([alice, bob, anonymous].map((c) => allowed(allow, c))).to.deep.equal([true, false, false]);
    // A subject holding '/' (e.g. a URL): every split of the principal is tried.
    const urlSub = { jwt: { iss: 'https://issuer.test', sub: 'https://people.test/alice' } };
    const bySplit = [
      policy('p', {
        rules: [{ from: [{ source: { requestPrincipals: ['https://issuer.test/https://people.test/alice'] } }] }],
      }),
    ];
    expect([urlSub, alice].map((c) => allowed(bySplit, c))).to.deep.equal([true, false]);
    const anyIssuer = [policy('p', { rules: [{ from: [{ source: { requestPrincipals: ['*/bob'] } }] }] })];
    expect([alice, bob].map((c) => allowed(anyIssuer, c))).to.deep.equal([false, true]);
    const anyToken = [policy('p', { rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }] })];
    expect([alice, bob, anonymous].map((c) => allowed(anyToken, c))).to.deep.equal([true, true, false]);
    // A list claim (aud) and a string one (groups).
    const claims = [
      policy('p', {
        rules: [
          {
            when: [
              { key: 'request.auth.audiences', values: ['orders'] },
              { key: 'request.auth.claims[groups]', values: ['admin'] },
            ],
          },
        ],
      }),
    ];
    expect([alice, bob].map((c) => allowed(claims, c))).to.deep.equal([true, false]);
    // TCP has no jwt_authn: an ALLOW by request principal allows nothing, a DENY by one denies everyone.
    expect(allowed(anyToken, alice, 5432, true)).to.equal(false);
    const deny = [policy('d', { action: 'DENY', rules: [{ from: [{ source: { requestPrincipals: ['*/bob'] } }] }] })];
    expect(allowed(deny, { principal: CLIENT }, 5432, true)).to.equal(false);
    expect(allowed(deny, alice)).to.equal(true);
  });

  it('TCP: an ALLOW rule needing HTTP allows nothing; a DENY rule loses its HTTP parts (fail closed)', () => {
    const allowHttp = [policy('a', { rules: [{ to: [{ operation: { methods: ['GET'] } }] }] })];
    expect(allowed(allowHttp, { principal: CLIENT }, 5432, true)).to.equal(false);
    const allowIdentity = [
      policy('a', { rules: [{ from: [{ source: { principals: [`cluster.local/${CLIENT}`] } }] }] }),
    ];
    expect(allowed(allowIdentity, { principal: CLIENT }, 5432, true)).to.equal(true);
    expect(allowed(allowIdentity, { principal: OTHER }, 5432, true)).to.equal(false);
    const denyHttp = [policy('d', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] })];
    expect(allowed(denyHttp, { principal: CLIENT }, 5432, true)).to.equal(false);
  });

  it('the listener carries valid Envoy protos in Istio order: DENY, ALLOW, AUDIT (LOG)', () => {
    const all = [
      policy('a', { rules: [{}] }),
      policy('b', { action: 'AUDIT', rules: [{}] }),
      policy('c', { action: 'DENY', rules: [{}], dryRun: true }),
    ];
    const { http } = inboundAuthorization(all, 8080, false);
    expect(http.map((f) => f['name'])).to.deep.equal([
      'envoy.filters.http.rbac.deny',
      'envoy.filters.http.rbac.allow',
      'envoy.filters.http.rbac.audit',
    ]);
    const deny = http[0]?.['typed_config'] as Obj;
    expect(deny).to.not.have.property('rules');
    expect((deny['shadow_rules'] as Obj)['action']).to.equal('DENY');
    const listener = {
      name: 'inbound',
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: {
                '@type': typeUrl(EXTENSION_TYPES.httpConnectionManager),
                stat_prefix: 'inbound',
                http_filters: [...http, { name: 'router', typed_config: { '@type': typeUrl(EXTENSION_TYPES.router) } }],
                route_config: { name: 'r' },
              },
            },
          ],
        },
      ],
    };
    anyOf(TYPE_URLS.listener, listener);
  });
});
