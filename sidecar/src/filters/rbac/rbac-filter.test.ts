// The RBAC HTTP filter through a live handler on real sockets (plaintext callers here; mTLS identities are proven end
// to end in test/authorization.test.ts): ALLOW, DENY and LOG rules over methods, paths, headers, addresses and ports,
// nested and/or/not, shadow rules that only count, the decoder's refusals.
import { anyOf, decodeAny, EXTENSION_TYPES, typeUrl } from '@trellis/xds-protos';
import { expect } from 'chai';
import { rbacConfig } from '../../config/decode-rbac.ts';
import { type HttpFilterConfig, RBAC_TYPE, type RbacConfig } from '../../config/model.ts';
import { send } from '../../http/test-harness.ts';
import { filterBench } from '../test-filter-proxy.ts';

type Obj = Record<string, unknown>;

/** An Envoy RBAC config through protobuf and the sidecar's decoder. */
function decoded(config: Obj): RbacConfig {
  const raw = decodeAny(anyOf(typeUrl(EXTENSION_TYPES.rbac), config)) as Obj;
  return rbacConfig(raw, 'typed_config');
}

function chain(config: Obj): HttpFilterConfig[] {
  return [{ name: 'envoy.filters.http.rbac', typeName: RBAC_TYPE, config: decoded(config) }];
}

const prefix = (p: string) => ({ url_path: { path: { prefix: p } } });
const method = (m: string) => ({ header: { name: ':method', string_match: { exact: m } } });
const header = (name: string, exact: string) => ({ header: { name, string_match: { exact } } });
const anyone = { any: true };

describe('RBAC filter (envoy.filters.http.rbac)', () => {
  const bench = filterBench();

  it('ALLOW: only what a policy matches reaches the app; the rest gets 403 with no detail, flagged RBAC', async () => {
    const p = await bench.proxy(
      chain({
        rules: {
          action: 'ALLOW',
          policies: {
            'read-orders': {
              permissions: [{ and_rules: { rules: [method('GET'), prefix('/orders')] } }],
              principals: [anyone],
            },
          },
        },
      }),
    );
    const before = bench.hits;
    expect((await send(p.port, '/orders/1')).status).to.equal(200);
    const denied = await send(p.port, '/orders/1', { method: 'DELETE' });
    expect(denied.status).to.equal(403);
    expect(denied.body).to.equal('RBAC: access denied');
    expect(denied.headers['x-trellis-response-flags']).to.equal('RBAC');
    expect((await send(p.port, '/admin')).status).to.equal(403);
    expect(bench.hits - before).to.equal(1);
    expect(p.stats.counter('http.in.rbac.allowed')).to.equal(1);
    expect(p.stats.counter('http.in.rbac.denied')).to.equal(2);
  });

  it('DENY: what a policy matches is refused (a repeated header cannot hide a value); not_rule and or_ids', async () => {
    const p = await bench.proxy(
      chain({
        rules: {
          action: 'DENY',
          policies: {
            'no-admin': { permissions: [prefix('/admin')], principals: [anyone] },
            'no-debug-header': {
              permissions: [{ header: { name: 'x-debug', string_match: { contains: 'on' } } }],
              principals: [anyone],
            },
            'only-loopback-may-write': {
              permissions: [{ not_rule: method('GET') }],
              principals: [
                {
                  not_id: {
                    or_ids: { ids: [{ direct_remote_ip: { address_prefix: '127.0.0.0', prefix_len: { value: 8 } } }] },
                  },
                },
              ],
            },
          },
        },
      }),
    );
    expect((await send(p.port, '/orders')).status).to.equal(200);
    expect((await send(p.port, '/admin/users')).status).to.equal(403);
    // Header values are matched joined with ',': a second x-debug does not slip past the first.
    expect((await send(p.port, '/', { headers: { 'x-debug': ['off', 'on'] } })).status).to.equal(403);
    // A loopback caller may POST (the principal excludes it).
    expect((await send(p.port, '/orders', { method: 'POST', body: 'x' })).status).to.equal(200);
  });

  it('addresses: remote_ip (the trusted client address); a rule for another port never matches', async () => {
    const p = await bench.proxy(
      chain({
        rules: {
          action: 'ALLOW',
          policies: {
            'from-10-net': {
              permissions: [anyone],
              principals: [{ remote_ip: { address_prefix: '10.0.0.0', prefix_len: { value: 8 } } }],
            },
            'to-this-port': { permissions: [{ destination_port: 1 }], principals: [anyone] },
          },
        },
      }),
      undefined,
      // One trusted hop: X-Forwarded-For's last address is the client's.
      { xffNumTrustedHops: 1, useRemoteAddress: true },
    );
    expect((await send(p.port, '/', { headers: { 'x-forwarded-for': '10.1.2.3' } })).status).to.equal(200);
    expect((await send(p.port, '/', { headers: { 'x-forwarded-for': '192.0.2.1' } })).status).to.equal(403);
    expect((await send(p.port, '/')).status).to.equal(403);
  });

  it('shadow rules only count (dry run); LOG rules let everything through and count what they match', async () => {
    const p = await bench.proxy(
      chain({
        rules: { action: 'LOG', policies: { 'log-admin': { permissions: [prefix('/admin')], principals: [anyone] } } },
        shadow_rules: {
          action: 'DENY',
          policies: { 'would-deny': { permissions: [header('x-user', 'mallory')], principals: [anyone] } },
        },
        shadow_rules_stat_prefix: 'dry_',
      }),
    );
    expect((await send(p.port, '/admin', { headers: { 'x-user': 'mallory' } })).status).to.equal(200);
    expect((await send(p.port, '/orders')).status).to.equal(200);
    expect(p.stats.counter('http.in.rbac.dry_shadow_denied')).to.equal(1);
    expect(p.stats.counter('http.in.rbac.dry_shadow_allowed')).to.equal(1);
    expect(p.stats.counter('http.in.rbac.logged')).to.equal(1);
    expect(p.stats.counter('http.in.rbac.not_logged')).to.equal(1);
  });

  it('refuses what it cannot evaluate, naming the field', () => {
    const err = (config: Obj): string => {
      try {
        decoded(config);
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(
      err({ rules: { policies: { p: { permissions: [anyone], principals: [{ filter_state: { key: 'k' } }] } } } }),
    ).to.equal('typed_config.rules.policies.p.principals[0].filter_state: not supported by the sidecar');
    expect(err({ rules: { policies: { p: { permissions: [], principals: [anyone] } } } })).to.equal(
      'typed_config.rules.policies.p.permissions: needs at least one permission',
    );
    expect(
      err({
        rules: {
          policies: {
            p: { permissions: [anyone], principals: [anyone], condition: { const_expr: { bool_value: true } } },
          },
        },
      }),
    ).to.equal('typed_config.rules.policies.p.condition: CEL conditions are not supported by the sidecar');
    let deep: Obj = anyone;
    for (let i = 0; i < 20; i++) deep = { not_rule: deep };
    expect(err({ rules: { policies: { p: { permissions: [deep], principals: [anyone] } } } })).to.match(
      /nested deeper than 16 levels$/,
    );
    expect(
      err({
        rules: {
          policies: {
            p: {
              permissions: [anyone],
              principals: [{ direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: { value: 33 } } }],
            },
          },
        },
      }),
    ).to.equal('typed_config.rules.policies.p.principals[0].direct_remote_ip.prefix_len: expected 0 to 32, got 33');
  });
});
