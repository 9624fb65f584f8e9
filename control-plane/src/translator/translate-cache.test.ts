// Translation caching: over random sequences of service, policy, route and endpoint changes, the cached translation
// (identity-stable endpoint lists, as the registry hands out) deep-equals one from scratch (caches off).

import type { ClientKind, SidecarParams } from '@trellis/node-contract';
import { expect } from 'chai';
import fc from 'fast-check';
import type { Endpoint } from '../registry/endpoint.ts';
import type { RouteResource, ServiceResource, TrafficPolicyResource } from '../resources/types.ts';
import { endpoint, policy, route, service } from './fixtures.ts';
import { translationCaching } from './memo.ts';
import type { MeshState } from './mesh-state.ts';
import { translateWithWarnings } from './translate.ts';

const NAMES = ['a', 'b', 'c'] as const;

type Change =
  | { kind: 'endpoints'; svc: number; ips: number[]; version: number }
  | { kind: 'subsets'; svc: number; labels: string[] }
  | { kind: 'service'; svc: number; present: boolean; port: number }
  | { kind: 'route'; svc: number; weight: number };

const change: fc.Arbitrary<Change> = fc.oneof(
  fc.record({
    kind: fc.constant('endpoints' as const),
    svc: fc.nat(2),
    ips: fc.array(fc.nat(5), { maxLength: 5 }),
    version: fc.nat(1),
  }),
  fc.record({
    kind: fc.constant('subsets' as const),
    svc: fc.nat(2),
    labels: fc.subarray(['v0', 'v1']),
  }),
  fc.record({
    kind: fc.constant('service' as const),
    svc: fc.nat(2),
    present: fc.boolean(),
    port: fc.constantFrom(80, 81),
  }),
  fc.record({ kind: fc.constant('route' as const), svc: fc.nat(2), weight: fc.integer({ min: 0, max: 100 }) }),
);

interface World {
  services: Map<string, ServiceResource>;
  policies: Map<string, TrafficPolicyResource>;
  routes: Map<string, RouteResource>;
  endpoints: Map<string, readonly Endpoint[]>;
}

function apply(w: World, c: Change): void {
  const name = NAMES[c.svc] as string;
  switch (c.kind) {
    case 'endpoints':
      w.endpoints.set(
        name,
        c.ips.map((ip, i) =>
          endpoint(name, `10.0.${c.svc}.${ip}`, 80, { labels: { version: `v${(i + c.version) % 2}` } }),
        ),
      );
      break;
    case 'subsets':
      w.policies.set(
        name,
        policy(name, {
          service: name,
          subsets: c.labels.map((v) => ({ name: v, labels: { version: v } })),
          loadBalancer: c.labels.length === 1 ? { algorithm: 'LEAST_REQUEST' } : { algorithm: 'ROUND_ROBIN' },
          connectionPool: { connectTimeout: `${1 + c.labels.length}s`, idleTimeout: '30s' },
        }),
      );
      break;
    case 'service':
      if (c.present) w.services.set(name, service(name, { ports: [{ name: 'http', port: c.port, protocol: 'HTTP' }] }));
      else w.services.delete(name);
      break;
    case 'route':
      w.routes.set(
        name,
        route(name, {
          hosts: [name],
          http: [
            {
              route: [{ service: name, subset: 'v0', weight: c.weight }, { service: 'b' }],
              timeout: '2s',
              idleTimeout: '10s',
              retries: { attempts: 2, retryOn: ['5xx'] },
            },
          ],
        }),
      );
      break;
  }
}

function stateOf(w: World, freshLists: boolean): MeshState {
  return {
    services: [...w.services.values()],
    policies: [...w.policies.values()],
    routes: [...w.routes.values()],
    endpoints: new Map([...w.endpoints].map(([k, v]) => [k, freshLists ? v.map((e) => ({ ...e })) : v])),
  };
}

const sidecarOf = (service: string, tcpUpstreams: SidecarParams['tcpUpstreams'] = []): SidecarParams => ({
  service,
  appPort: 3000,
  inboundAddress: '0.0.0.0',
  inboundPort: 15006,
  outboundPort: 15001,
  tcpUpstreams,
});

const CLIENTS: [ClientKind, SidecarParams | undefined][] = [
  ['proxyless', undefined],
  ['envoy', undefined],
  ['sidecar', sidecarOf('a')],
  ['sidecar', sidecarOf('b', [{ service: 'c', port: 80, localPort: 7000 }])],
];

describe('translation caching', () => {
  it('gives what uncached translation gives, across random sequences of changes', () => {
    fc.assert(
      fc.property(fc.array(change, { minLength: 1, maxLength: 12 }), (changes) => {
        const w: World = { services: new Map(), policies: new Map(), routes: new Map(), endpoints: new Map() };
        for (const c of changes) {
          apply(w, c);
          for (const [client, sidecar] of CLIENTS) {
            const cached = translateWithWarnings(stateOf(w, false), client, sidecar);
            const again = translateWithWarnings(stateOf(w, false), client, sidecar);
            translationCaching.enabled = false;
            let fresh: ReturnType<typeof translateWithWarnings>;
            try {
              fresh = translateWithWarnings(stateOf(w, true), client, sidecar);
            } finally {
              translationCaching.enabled = true;
            }
            expect(cached).to.deep.equal(fresh);
            expect(again).to.deep.equal(fresh);
          }
        }
      }),
      { seed: 12, numRuns: 150 },
    );
  });
});
