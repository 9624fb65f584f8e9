// Route configurations: domains, rule order, destinations and weights, rewrites, timeouts, retries, header ops.

import type { ClientKind } from '@trellis/node-contract';
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import type { HttpRule, RouteResource } from '../resources/types.ts';
import { mesh, policy, route, service } from './fixtures.ts';
import { translateWithWarnings } from './translate.ts';

interface EnvoyRoute {
  name: string;
  match: Record<string, unknown>;
  route: Record<string, unknown>;
  [k: string]: unknown;
}
interface VirtualHost {
  name: string;
  domains: string[];
  routes: EnvoyRoute[];
}

const SERVICES = [
  service('orders', {
    ports: [
      { name: 'http', port: 8080, protocol: 'HTTP' },
      { name: 'grpc', port: 9090, protocol: 'GRPC' },
    ],
  }),
  service('payments', { ports: [{ name: 'grpc', port: 50051, protocol: 'GRPC' }] }),
];
const POLICIES = [
  policy('orders', {
    service: 'orders',
    subsets: [
      { name: 'v1', labels: { version: 'v1' } },
      { name: 'v2', labels: { version: 'v2' } },
    ],
  }),
];

function translateRoutes(routes: RouteResource[], client: ClientKind = 'sidecar') {
  const { resources, warnings } = translateWithWarnings(
    mesh({ services: SERVICES, policies: POLICIES, routes }),
    client,
  );
  for (const r of resources.route) anyOf(TYPE_URLS.route, r);
  const vhost = (name: string): VirtualHost => {
    const rc = resources.route.find((r) => r['name'] === name) as { virtual_hosts: VirtualHost[] } | undefined;
    if (!rc?.virtual_hosts[0]) throw new Error(`no route configuration ${name}`);
    return rc.virtual_hosts[0];
  };
  return { vhost, warnings };
}

/** The action of the first route of `orders:8080` for a single rule. */
function actionOf(rule: HttpRule, client: ClientKind = 'sidecar'): Record<string, unknown> {
  const { vhost } = translateRoutes([route('r', { hosts: ['orders'], http: [rule] })], client);
  return vhost('orders:8080').routes[0]?.route ?? {};
}

describe('route configurations', () => {
  it('names the virtual host after the service and lists its domains, Route aliases included', () => {
    const { vhost } = translateRoutes([route('r', { hosts: ['orders.shop.svc', 'orders:9090', 'other'], http: [] })]);
    expect(vhost('orders:8080').name).to.equal('orders');
    expect(vhost('orders:8080').domains).to.deep.equal([
      'orders',
      'orders:8080',
      'orders.shop.svc',
      'orders.shop.svc:8080',
    ]);
    expect(vhost('orders:9090').domains).to.deep.equal([
      'orders',
      'orders:9090',
      'orders.shop.svc',
      'orders.shop.svc:9090',
    ]);
    expect(vhost('payments:50051').domains).to.deep.equal(['payments', 'payments:50051']);
  });

  it('orders routes by Route name then rule, with the catch-all to the port cluster last', () => {
    const { vhost } = translateRoutes([
      route('b', { hosts: ['orders'], http: [{ match: [{ pathPrefix: '/b' }], route: [{ service: 'orders' }] }] }),
      route('a', {
        hosts: ['orders:8080'],
        http: [
          { match: [{ pathPrefix: '/a0' }, { pathExact: '/a0x' }], route: [{ service: 'orders' }] },
          { match: [{ pathPrefix: '/a1' }], route: [{ service: 'orders' }] },
        ],
      }),
    ]);
    const routes = vhost('orders:8080').routes;
    expect(routes.map((r) => [r.name, r.match])).to.deep.equal([
      ['a/0', { prefix: '/a0' }],
      ['a/0', { path: '/a0x' }],
      ['a/1', { prefix: '/a1' }],
      ['b/0', { prefix: '/b' }],
      ['default', { prefix: '/' }],
    ]);
    expect(routes[4]?.route).to.deep.equal({ cluster: 'orders|8080' });
    // 'orders:8080' hosts apply to that port only.
    expect(vhost('orders:9090').routes.map((r) => r.name)).to.deep.equal(['b/0', 'default']);
  });

  describe('destinations', () => {
    it('sends a single destination to its cluster, defaulting to the route configuration’s port', () => {
      const { vhost } = translateRoutes([
        route('r', { hosts: ['orders'], http: [{ route: [{ service: 'orders', subset: 'v1' }] }] }),
      ]);
      expect(vhost('orders:8080').routes[0]?.route).to.deep.equal({ cluster: 'orders|8080|v1' });
      expect(vhost('orders:9090').routes[0]?.route).to.deep.equal({ cluster: 'orders|9090|v1' });
    });

    it('uses the destination’s first port when it lacks the route configuration’s port, or the port asked for', () => {
      expect(actionOf({ route: [{ service: 'payments' }] })).to.deep.equal({ cluster: 'payments|50051' });
      expect(actionOf({ route: [{ service: 'orders', port: 9090 }] })).to.deep.equal({ cluster: 'orders|9090' });
    });

    it('splits by weight, leaving out zero weights', () => {
      expect(
        actionOf({
          route: [
            { service: 'orders', subset: 'v2', weight: 10 },
            { service: 'orders', subset: 'v1', weight: 90 },
            { service: 'payments', weight: 0 },
          ],
        }),
      ).to.deep.equal({
        weighted_clusters: {
          clusters: [
            { name: 'orders|8080|v2', weight: { value: 10 } },
            { name: 'orders|8080|v1', weight: { value: 90 } },
          ],
        },
      });
    });

    it('uses a plain cluster when all but one weigh 0, and splits evenly when none is weighted', () => {
      expect(
        actionOf({
          route: [
            { service: 'orders', subset: 'v1', weight: 0 },
            { service: 'orders', subset: 'v2', weight: 100 },
          ],
        }),
      ).to.deep.equal({ cluster: 'orders|8080|v2' });
      expect(
        actionOf({
          route: [
            { service: 'orders', subset: 'v1' },
            { service: 'orders', subset: 'v2' },
          ],
        }),
      ).to.deep.equal({
        weighted_clusters: {
          clusters: [
            { name: 'orders|8080|v1', weight: { value: 1 } },
            { name: 'orders|8080|v2', weight: { value: 1 } },
          ],
        },
      });
    });

    it('leaves out unknown services, ports and subsets with a warning, and drops a rule left with none', () => {
      const { vhost, warnings } = translateRoutes([
        route('r', {
          hosts: ['orders'],
          http: [
            {
              route: [
                { service: 'orders', subset: 'v9' },
                { service: 'orders', subset: 'v1', weight: 1 },
              ],
            },
            { route: [{ service: 'ghost' }, { service: 'orders', port: 1234 }] },
          ],
        }),
      ]);
      expect(vhost('orders:8080').routes.map((r) => [r.name, r.route])).to.deep.equal([
        ['r/0', { cluster: 'orders|8080|v1' }],
        ['default', { cluster: 'orders|8080' }],
      ]);
      expect(warnings).to.include('Route r/0: route[0]: destination orders subset v9 does not exist; left out');
      expect(warnings).to.include('Route r/1: no destination exists; rule left out');
    });
  });

  it('maps rewrites: prefix, regex and host', () => {
    expect(
      actionOf({ route: [{ service: 'orders' }], rewrite: { pathPrefix: '/', host: 'orders.internal' } }),
    ).to.deep.equal({
      cluster: 'orders|8080',
      prefix_rewrite: '/',
      host_rewrite_literal: 'orders.internal',
    });
    expect(
      actionOf({ route: [{ service: 'orders' }], rewrite: { regex: { pattern: '^/v1/(.*)$', substitution: '/\\1' } } }),
    ).to.deep.equal({
      cluster: 'orders|8080',
      regex_rewrite: { pattern: { regex: '^/v1/(.*)$' }, substitution: '/\\1' },
    });
  });

  it('sets timeout and max_stream_duration (what gRPC reads) from the rule timeout', () => {
    const a = actionOf({ route: [{ service: 'orders' }], timeout: '2.5s' }, 'proxyless');
    expect(a['timeout']).to.deep.equal({ seconds: 2, nanos: 500_000_000 });
    expect(a['max_stream_duration']).to.deep.equal({ max_stream_duration: { seconds: 2, nanos: 500_000_000 } });
  });

  describe('retries', () => {
    it('maps attempts, per-try timeout and retryOn (gRPC status names to Envoy names)', () => {
      const a = actionOf({
        route: [{ service: 'orders' }],
        retries: {
          attempts: 3,
          perTryTimeout: '500ms',
          retryOn: ['5xx', 'connect-failure', 'UNAVAILABLE', 'deadline_exceeded', '14'],
        },
      });
      expect(a['retry_policy']).to.deep.equal({
        retry_on: '5xx,connect-failure,unavailable,deadline-exceeded',
        num_retries: { value: 3 },
        per_try_timeout: { seconds: 0, nanos: 500_000_000 },
      });
    });

    it('uses default conditions when none (or none known) are given, and warns about unknown ones', () => {
      const { vhost, warnings } = translateRoutes([
        route('r', {
          hosts: ['orders'],
          http: [{ route: [{ service: 'orders' }], retries: { attempts: 1, retryOn: ['sometimes'] } }],
        }),
      ]);
      const retry = vhost('orders:8080').routes[0]?.route['retry_policy'] as { retry_on: string } | undefined;
      expect(retry?.retry_on).to.equal('connect-failure,refused-stream,unavailable,cancelled,gateway-error');
      expect(warnings).to.include("Route r/0: retries.retryOn: unknown condition 'sometimes' ignored");
    });

    it('omits the policy for zero attempts (gRPC NACKs num_retries < 1)', () => {
      expect(actionOf({ route: [{ service: 'orders' }], retries: { attempts: 0 } })).to.not.have.key('retry_policy');
    });
  });

  it('maps header add / set / remove for requests and responses', () => {
    const { vhost } = translateRoutes([
      route('r', {
        hosts: ['orders'],
        http: [
          {
            route: [{ service: 'orders' }],
            headers: {
              request: { add: { 'X-Z': 'z', 'x-a': 'a' }, set: { 'x-s': 's' }, remove: ['X-Drop', 'x-drop'] },
              response: { add: { 'x-r': 'r' }, remove: ['server'] },
            },
          },
        ],
      }),
    ]);
    const r = vhost('orders:8080').routes[0];
    expect(r?.['request_headers_to_add']).to.deep.equal([
      { header: { key: 'x-a', value: 'a' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-z', value: 'z' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-s', value: 's' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    ]);
    expect(r?.['request_headers_to_remove']).to.deep.equal(['x-drop']);
    expect(r?.['response_headers_to_add']).to.deep.equal([
      { header: { key: 'x-r', value: 'r' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
    ]);
    expect(r?.['response_headers_to_remove']).to.deep.equal(['server']);
    expect(vhost('orders:8080').routes[1]).to.not.have.any.keys('request_headers_to_add', 'response_headers_to_remove');
  });

  it('header values stay literal: a percent sign is written %% (Envoy reads values as substitution formats)', () => {
    const { vhost } = translateRoutes([
      route('r', {
        hosts: ['orders'],
        http: [
          {
            route: [{ service: 'orders' }],
            headers: {
              request: { set: { 'x-discount': '10%', 'x-op': '%DOWNSTREAM_REMOTE_ADDRESS%' } },
              response: { add: { 'x-r': '100%%' } },
            },
          },
        ],
      }),
    ]);
    const r = vhost('orders:8080').routes[0];
    expect(r?.['request_headers_to_add']).to.deep.equal([
      { header: { key: 'x-discount', value: '10%%' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-op', value: '%%DOWNSTREAM_REMOTE_ADDRESS%%' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    ]);
    expect(r?.['response_headers_to_add']).to.deep.equal([
      { header: { key: 'x-r', value: '100%%%%' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
    ]);
  });
});
