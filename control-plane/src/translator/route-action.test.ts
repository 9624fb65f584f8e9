// Route action pieces: retry condition names, and hash policies per client kind (also on catch-all routes).

import type { ClientKind } from '@trellis/node-contract';
import { expect } from 'chai';
import { mesh, policy, route, service } from './fixtures.ts';
import { hashPolicy } from './hash-policy.ts';
import { retryOnName } from './retry-policy.ts';
import { translate } from './translate.ts';

const HASH = { header: 'X-User', cookie: { name: 'sid', ttl: '1h', path: '/' }, sourceIp: true, queryParam: 'u' };

describe('route actions', () => {
  it('knows Envoy and gRPC retry condition names', () => {
    expect(['reset', 'Retriable-4xx', 'RESOURCE_EXHAUSTED', '4', 'nope'].map(retryOnName)).to.deep.equal([
      'reset',
      'retriable-4xx',
      'resource-exhausted',
      'deadline-exceeded',
      undefined,
    ]);
  });

  describe('consistent hashing', () => {
    it('maps every hash source for proxies', () => {
      expect(hashPolicy(HASH, 'envoy')).to.deep.equal([
        { header: { header_name: 'x-user' } },
        { cookie: { name: 'sid', ttl: { seconds: 3600, nanos: 0 }, path: '/' } },
        { connection_properties: { source_ip: true } },
        { query_parameter: { name: 'u' } },
      ]);
      expect(hashPolicy(undefined, 'sidecar')).to.deep.equal([]);
    });

    it('gives proxyless clients only what gRPC hashes on: headers, and its channel id for source IP', () => {
      expect(hashPolicy(HASH, 'proxyless')).to.deep.equal([
        { header: { header_name: 'x-user' } },
        { filter_state: { key: 'io.grpc.channel_id' } },
      ]);
    });

    it("puts the destination service's hash policy on routes to it and on its own catch-all", () => {
      const state = mesh({
        services: [
          service('orders', { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] }),
          service('payments', { ports: [{ name: 'grpc', port: 50051, protocol: 'GRPC' }] }),
        ],
        policies: [
          policy('payments', {
            service: 'payments',
            loadBalancer: { algorithm: 'RING_HASH', consistentHash: { header: 'x-user' } },
          }),
        ],
        routes: [route('r', { hosts: ['orders'], http: [{ route: [{ service: 'payments' }] }] })],
      });
      const firstAction = (client: ClientKind, name: string) => {
        const rc = translate(state, client).route.find((r) => r['name'] === name) as {
          virtual_hosts: { routes: { route: Record<string, unknown> }[] }[];
        };
        return rc.virtual_hosts[0]?.routes[0]?.route;
      };
      const expected = [{ header: { header_name: 'x-user' } }];
      expect(firstAction('sidecar', 'orders:8080')?.['hash_policy']).to.deep.equal(expected);
      expect(firstAction('proxyless', 'payments:50051')?.['hash_policy']).to.deep.equal(expected);
      // orders' own catch-all has no policy, so no hash.
      const orders = translate(state, 'sidecar').route.find((r) => r['name'] === 'orders:8080') as {
        virtual_hosts: { routes: { route: Record<string, unknown> }[] }[];
      };
      expect(orders.virtual_hosts[0]?.routes[1]?.route).to.deep.equal({ cluster: 'orders|8080' });
    });
  });
});
