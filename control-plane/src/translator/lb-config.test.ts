// Load-balancer fields of a Cluster: algorithm knobs, ring sizes, common_lb_config, and what proxyless gets.

import type { ClientKind } from '@trellis/node-contract';
import { anyOf, decodeAny, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import type { LoadBalancer } from '../resources/types.ts';
import { encodedCluster } from './fixtures.ts';

const lbFields = (loadBalancer: LoadBalancer, client: ClientKind) => {
  const c = encodedCluster({ loadBalancer }, client);
  const { lb_policy, ring_hash_lb_config, least_request_lb_config, maglev_lb_config, common_lb_config } = c;
  return JSON.parse(
    JSON.stringify({ lb_policy, ring_hash_lb_config, least_request_lb_config, maglev_lb_config, common_lb_config }),
  ) as Record<string, unknown>;
};

const ring = (min: number, max: number) => ({
  minimum_ring_size: { value: min },
  maximum_ring_size: { value: max },
  hash_function: 'XX_HASH',
});

describe('cluster load balancing fields', () => {
  const table: [string, LoadBalancer, ClientKind, Record<string, unknown>][] = [
    [
      'LEAST_REQUEST choiceCount',
      { algorithm: 'LEAST_REQUEST', choiceCount: 3 },
      'sidecar',
      { lb_policy: 'LEAST_REQUEST', least_request_lb_config: { choice_count: { value: 3 } } },
    ],
    [
      'choiceCount is meaningless to proxyless',
      { algorithm: 'LEAST_REQUEST', choiceCount: 3 },
      'proxyless',
      {
        lb_policy: 'ROUND_ROBIN',
      },
    ],
    [
      'RING_HASH ringSize',
      { algorithm: 'RING_HASH', ringSize: { min: 2048, max: 65536 } },
      'envoy',
      { lb_policy: 'RING_HASH', ring_hash_lb_config: ring(2048, 65536) },
    ],
    [
      'RING_HASH ringSize for proxyless too',
      { algorithm: 'RING_HASH', ringSize: { min: 2048, max: 65536 } },
      'proxyless',
      { lb_policy: 'RING_HASH', ring_hash_lb_config: ring(2048, 65536) },
    ],
    [
      'a lone small max pulls the minimum down',
      { algorithm: 'RING_HASH', ringSize: { max: 512 } },
      'sidecar',
      { lb_policy: 'RING_HASH', ring_hash_lb_config: ring(512, 512) },
    ],
    [
      'MAGLEV tableSize',
      { algorithm: 'MAGLEV', tableSize: 251 },
      'sidecar',
      { lb_policy: 'MAGLEV', maglev_lb_config: { table_size: { value: 251 } } },
    ],
    [
      'MAGLEV hashes on a ring for proxyless',
      { algorithm: 'MAGLEV', tableSize: 251 },
      'proxyless',
      { lb_policy: 'RING_HASH', ring_hash_lb_config: ring(1024, 8_388_608) },
    ],
    [
      'stickySession without algorithm is RING_HASH',
      { stickySession: { cookie: { name: 'sid' } } },
      'envoy',
      { lb_policy: 'RING_HASH', ring_hash_lb_config: ring(1024, 8_388_608) },
    ],
    [
      'panic threshold and preferLocalZone',
      { panicThreshold: 25.5, localityLb: { preferLocalZone: true } },
      'envoy',
      {
        lb_policy: 'ROUND_ROBIN',
        common_lb_config: {
          healthy_panic_threshold: { value: 25.5 },
          zone_aware_lb_config: { routing_enabled: { value: 100 } },
        },
      },
    ],
    [
      'preferLocalZone false switches zone-aware routing off',
      { algorithm: 'RANDOM', localityLb: { preferLocalZone: false } },
      'sidecar',
      { lb_policy: 'RANDOM', common_lb_config: { zone_aware_lb_config: { routing_enabled: { value: 0 } } } },
    ],
    [
      'proxyless gets no common_lb_config',
      { panicThreshold: 50, localityLb: { preferLocalZone: true } },
      'proxyless',
      { lb_policy: 'ROUND_ROBIN' },
    ],
  ];
  for (const [name, lb, client, expected] of table) {
    it(`${name} (${client})`, () => {
      expect(lbFields(lb, client)).to.deep.equal(expected);
    });
  }

  it('survives encoding: the Percent and UInt64 wrappers decode back', () => {
    const c = encodedCluster(
      { loadBalancer: { algorithm: 'MAGLEV', tableSize: 5_000_011, panicThreshold: 0 } },
      'sidecar',
    );
    const back = decodeAny(anyOf(TYPE_URLS.cluster, c));
    expect(back['maglev_lb_config']).to.deep.equal({ table_size: { value: 5_000_011 } });
    expect(back['common_lb_config']).to.deep.equal({ healthy_panic_threshold: {} });
  });
});
