// hash_policy from stickySession (generated cookie; gRPC channel id) and consistentHash, on every route to a service.

import type { ClientKind } from '@trellis/node-contract';
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import type { LoadBalancer } from '../resources/types.ts';
import { mesh, policy, route, service } from './fixtures.ts';
import { hashPolicyFor, stickyHashPolicy } from './hash-policy.ts';
import { translate } from './translate.ts';

describe('hash policies', () => {
  it('turns a sticky session into a cookie Envoy generates (ttl always set: 0s = session cookie)', () => {
    expect(stickyHashPolicy({ cookie: { name: 'sid' } }, 'sidecar')).to.deep.equal([
      { cookie: { name: 'sid', ttl: { seconds: 0, nanos: 0 } } },
    ]);
    expect(
      stickyHashPolicy({ cookie: { name: 'sid', ttl: '1h', path: '/shop', httpOnly: true } }, 'envoy'),
    ).to.deep.equal([{ cookie: { name: 'sid', ttl: { seconds: 3600, nanos: 0 }, path: '/shop' } }]);
  });

  it('keeps a gRPC channel on one backend instead (no cookies in gRPC)', () => {
    expect(stickyHashPolicy({ cookie: { name: 'sid' } }, 'proxyless')).to.deep.equal([
      { filter_state: { key: 'io.grpc.channel_id' } },
    ]);
  });

  it('prefers nothing over guessing: no hash source, no policy', () => {
    expect(hashPolicyFor(undefined, 'sidecar')).to.deep.equal([]);
    expect(hashPolicyFor({ algorithm: 'RING_HASH' }, 'envoy')).to.deep.equal([]);
    expect(hashPolicyFor({ algorithm: 'MAGLEV', consistentHash: { header: 'X-U' } }, 'proxyless')).to.deep.equal([
      { header: { header_name: 'x-u' } },
    ]);
  });

  it('puts the sticky cookie on Route rules to the service and on its catch-all, encodable for every client', () => {
    const lb: LoadBalancer = { stickySession: { cookie: { name: 'sid', ttl: '10m' } } };
    const state = mesh({
      services: [
        service('web', { ports: [{ name: 'http', port: 80, protocol: 'HTTP' }] }),
        service('cart', { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] }),
      ],
      policies: [policy('cart', { service: 'cart', loadBalancer: lb })],
      routes: [
        route('web', { hosts: ['web'], http: [{ match: [{ pathPrefix: '/cart' }], route: [{ service: 'cart' }] }] }),
      ],
    });
    const actions = (client: ClientKind, name: string) => {
      const rcs = translate(state, client).route;
      for (const rc of rcs) anyOf(TYPE_URLS.route, rc);
      const rc = rcs.find((r) => r['name'] === name) as {
        virtual_hosts: { routes: { route: Record<string, unknown> }[] }[];
      };
      return (rc.virtual_hosts[0]?.routes ?? []).map((r) => r.route['hash_policy']);
    };
    const cookie = [{ cookie: { name: 'sid', ttl: { seconds: 600, nanos: 0 } } }];
    expect(actions('sidecar', 'web:80')).to.deep.equal([cookie, undefined]);
    expect(actions('envoy', 'cart:8080')).to.deep.equal([cookie]);
    expect(actions('proxyless', 'web:80')).to.deep.equal([
      [{ filter_state: { key: 'io.grpc.channel_id' } }],
      undefined,
    ]);
  });
});
