// What we emit for proxyless clients passes @grpc/grpc-js-xds's own resource validators (the checks behind its NACKs).
import { experimental, Metadata } from '@grpc/grpc-js';
import { register } from '@grpc/grpc-js-xds';
import type { RouteConfiguration__Output } from '@grpc/grpc-js-xds/build/src/generated/envoy/config/route/v3/RouteConfiguration.js';
import { getPredicateForMatcher } from '@grpc/grpc-js-xds/build/src/route.js';
import { ClusterResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/cluster-resource-type.js';
import { EndpointResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/endpoint-resource-type.js';
import { ListenerResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/listener-resource-type.js';
import { RouteConfigurationResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/route-config-resource-type.js';
import type {
  XdsDecodeContext,
  XdsDecodeResult,
} from '@grpc/grpc-js-xds/build/src/xds-resource-type/xds-resource-type.js';
import type { ClientKind } from '@trellis/node-contract';
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import { endpoint, mesh, policy, route, service, shopMesh } from './fixtures.ts';
import type { MeshState } from './mesh-state.ts';
import { translate } from './translate.ts';

// The context only matters for TLS and LRS, which Trellis does not emit yet.
const CONTEXT = { server: {}, bootstrap: { certificateProviders: {} } } as unknown as XdsDecodeContext;

const DECODERS = {
  cluster: ClusterResourceType.get(),
  endpoint: EndpointResourceType.get(),
  listener: ListenerResourceType.get(),
  route: RouteConfigurationResourceType.get(),
} as const;

function grpcDecode(type: keyof typeof DECODERS, resource: Record<string, unknown>): XdsDecodeResult {
  const any = anyOf(TYPE_URLS[type], resource);
  return DECODERS[type].decode(CONTEXT, { type_url: any.type_url, value: Buffer.from(any.value) });
}

function grpcErrors(state: MeshState, client: ClientKind): string[] {
  const res = translate(state, client);
  const errors: string[] = [];
  for (const type of Object.keys(DECODERS) as (keyof typeof DECODERS)[]) {
    for (const r of res[type]) {
      const out = grpcDecode(type, r);
      if (out.error) errors.push(out.error);
    }
  }
  return errors;
}

/**
 * A mesh using every feature the translator has: matches of each kind, ring hash, retries with back-off, header
 * ops, health checks, every outlier detector, retry budgets, idle timeouts, sticky sessions.
 */
function featureMesh(): MeshState {
  const base = shopMesh();
  return mesh({
    services: [
      ...base.services,
      service('cart', {
        ports: [
          { name: 'http', port: 8080, protocol: 'HTTP' },
          { name: 'grpc', port: 9090, protocol: 'GRPC' },
        ],
      }),
    ],
    policies: [
      ...base.policies,
      policy('payments', {
        service: 'payments',
        loadBalancer: {
          algorithm: 'RING_HASH',
          ringSize: { min: 2048, max: 65_536 },
          consistentHash: { header: 'x-user', sourceIp: true },
          panicThreshold: 30,
          localityLb: { preferLocalZone: true },
        },
        healthCheck: { grpc: { serviceName: 'pay.Payments' }, interval: '5s', timeout: '1s', jitter: '500ms' },
        outlierDetection: {
          consecutive5xx: 3,
          consecutiveGatewayErrors: 2,
          splitExternalLocalOriginErrors: true,
          consecutiveLocalOriginFailures: 4,
          interval: '10s',
          baseEjectionTime: '30s',
          maxEjectionTime: '5m',
          maxEjectionPercent: 40,
          successRate: { minimumHosts: 3, requestVolume: 50, stdevFactor: 1.5 },
          failurePercentage: { threshold: 80, minimumHosts: 3, requestVolume: 40 },
        },
        connectionPool: { maxRequests: 64, idleTimeout: '2m', retryBudget: { percent: 20, minRetryConcurrency: 2 } },
      }),
      policy('cart', {
        service: 'cart',
        loadBalancer: { stickySession: { cookie: { name: 'cart-id', ttl: '1h', path: '/' } } },
        healthCheck: { http: { path: '/healthz', expectedStatuses: ['200-299'] } },
      }),
    ],
    routes: [
      ...base.routes,
      route('payments', {
        hosts: ['payments:50051'],
        http: [
          {
            match: [
              { pathExact: '/pay.Payments/Charge', methods: ['POST'] },
              {
                pathRegex: '/pay\\.Payments/.*',
                headers: { 'x-env': { regex: 'stag.*' }, 'x-debug': { present: true } },
              },
              { cookies: { session: { prefix: 'beta-' } }, headers: { 'x-off': { present: false } } },
              { queryParams: { q: { exact: '1' } } },
            ],
            route: [{ service: 'payments' }],
            timeout: '3s',
            idleTimeout: '1m',
            retries: {
              attempts: 2,
              retryOn: ['UNAVAILABLE', 'deadline_exceeded', '5xx'],
              retriableStatusCodes: [503],
              backoff: { baseInterval: '100ms', maxInterval: '1s' },
            },
            headers: {
              request: { add: { 'x-a': '1' }, set: { 'x-b': '2' }, remove: ['x-c'] },
              response: { set: { 'x-d': '4' } },
            },
          },
        ],
      }),
    ],
    endpoints: [...[...base.endpoints.values()].flat(), endpoint('payments', '::1', 50052, { zone: 'z' })],
  });
}

describe('translate: accepted by @grpc/grpc-js-xds validators', () => {
  // Registers grpc-js-xds's HTTP filters (the router among them), which its listener validation looks up.
  before(() => register());

  it('accepts every proxyless resource of the shop mesh', () => {
    expect(grpcErrors(shopMesh(), 'proxyless')).to.deep.equal([]);
  });

  it('accepts every proxyless resource of a mesh using every feature', () => {
    expect(grpcErrors(featureMesh(), 'proxyless')).to.deep.equal([]);
  });

  it('would NACK the sidecar flavour (LEAST_REQUEST), which is why proxyless gets ROUND_ROBIN', () => {
    const errors = grpcErrors(shopMesh(), 'sidecar');
    expect(errors).to.not.be.empty;
    expect(errors.every((e) => /lb_policy: LEAST_REQUEST/.test(e))).to.equal(true);
  });

  it('keeps every locality (each carries a weight) and sees the endpoints as gRPC will', () => {
    const res = translate(shopMesh(), 'proxyless');
    const cla = res.endpoint.find((e) => e['cluster_name'] === 'orders|8080') as Record<string, unknown>;
    const out = grpcDecode('endpoint', cla);
    const value = out.value as { endpoints: { load_balancing_weight: { value: number } | null }[] };
    expect(value.endpoints.map((l) => l.load_balancing_weight?.value)).to.deep.equal([3, 3]);
  });

  it('decodes the proxyless cluster as gRPC load-balancing config', () => {
    const res = translate(featureMesh(), 'proxyless');
    const pick = (name: string) =>
      grpcDecode('cluster', res.cluster.find((c) => c['name'] === name) as Record<string, unknown>);
    const orders = pick('orders|8080|v1').value as {
      edsServiceName: string;
      lbPolicyConfig: unknown[];
      maxConcurrentRequests: number;
    };
    expect(orders.edsServiceName).to.equal('orders|8080|v1');
    expect(orders.lbPolicyConfig).to.deep.equal([{ xds_wrr_locality: { child_policy: [{ round_robin: {} }] } }]);
    expect(orders.maxConcurrentRequests).to.equal(1000);
    const payments = pick('payments|50051').value as { lbPolicyConfig: unknown[] };
    expect(payments.lbPolicyConfig).to.deep.equal([{ ring_hash: { min_ring_size: 2048, max_ring_size: 65_536 } }]);
    const cart = pick('cart|8080').value as { lbPolicyConfig: unknown[] };
    expect(cart.lbPolicyConfig).to.deep.equal([{ ring_hash: { min_ring_size: 1024, max_ring_size: 8_388_608 } }]);
  });

  it("turns outlier detection into a config grpc-js's outlier_detection policy parses, statistical detectors only", () => {
    const res = translate(featureMesh(), 'proxyless');
    const payments = grpcDecode('cluster', res.cluster.find((c) => c['name'] === 'payments|50051') ?? {});
    const update = (payments.value as { outlierDetectionUpdate: Record<string, unknown> }).outlierDetectionUpdate;
    expect(update).to.deep.include({
      max_ejection_percent: 40,
      success_rate_ejection: { enforcement_percentage: 100, minimum_hosts: 3, request_volume: 50, stdev_factor: 1500 },
      failure_percentage_ejection: { enforcement_percentage: 100, minimum_hosts: 3, request_volume: 40, threshold: 80 },
    });
    const parsed = experimental.parseLoadBalancingConfig({
      outlier_detection: { ...update, child_policy: [{ round_robin: {} }] },
    });
    expect(parsed.getLoadBalancerName()).to.equal('outlier_detection');
    // The shop mesh's orders policy has consecutive-error detectors only: gRPC gets no outlier detection there.
    const orders = grpcDecode('cluster', res.cluster.find((c) => c['name'] === 'orders|8080') ?? {});
    expect((orders.value as { outlierDetectionUpdate: unknown }).outlierDetectionUpdate).to.deep.equal({
      child_policy: [],
    });
  });

  it('keeps proxyless output minimal: no health checks, proxy-only cluster or route fields', () => {
    const res = translate(featureMesh(), 'proxyless');
    for (const c of res.cluster) {
      for (const f of ['health_checks', 'common_lb_config', 'typed_extension_protocol_options']) {
        expect(c, `${String(c['name'])}.${f}`).to.not.have.property(f);
      }
    }
    const rc = res.route.find((r) => r['name'] === 'payments:50051') as {
      virtual_hosts: { routes: { route: Record<string, unknown> }[] }[];
    };
    const action = rc.virtual_hosts[0]?.routes[0]?.route ?? {};
    expect(action).to.not.have.property('idle_timeout');
    expect(action['retry_policy']).to.deep.equal({
      retry_on: 'unavailable,deadline-exceeded,5xx,retriable-status-codes',
      num_retries: { value: 2 },
      // maxInterval 1s is left out: see the next test.
      retry_back_off: { base_interval: { seconds: 0, nanos: 100_000_000 } },
    });
  });

  it('sees Duration seconds as strings, why back-off intervals of 1s or more are kept from proxyless clients', () => {
    // resolver-xds.js builds the retry config's "Ns" text as `${seconds + nanos / 1e9}s`: "1" + 0 = "10s".
    const rc = {
      name: 'r',
      virtual_hosts: [
        {
          name: 'v',
          domains: ['r'],
          routes: [
            {
              match: { prefix: '/' },
              route: {
                cluster: 'c',
                retry_policy: {
                  retry_on: 'unavailable',
                  retry_back_off: { base_interval: { seconds: 1, nanos: 0 } },
                },
              },
            },
          ],
        },
      ],
    };
    const decoded = grpcDecode('route', rc).value as RouteConfiguration__Output;
    const base = decoded.virtual_hosts[0]?.routes[0]?.route?.retry_policy?.retry_back_off?.base_interval;
    expect(typeof base?.seconds).to.equal('string');
    expect(`${(base?.seconds as unknown as number) + (base?.nanos ?? 0) / 1e9}s`).to.equal('10s');
  });

  it('gives sticky-session services a channel-id hash for gRPC, and proxies their every field encodably', () => {
    const rc = translate(featureMesh(), 'proxyless').route.find((r) => r['name'] === 'cart:9090');
    const decoded = grpcDecode('route', rc as Record<string, unknown>).value as RouteConfiguration__Output;
    const hash = decoded.virtual_hosts[0]?.routes[0]?.route?.hash_policy ?? [];
    expect(hash.map((h) => h.filter_state?.key)).to.deep.equal(['io.grpc.channel_id']);
    for (const client of ['sidecar', 'envoy'] as const) {
      const res = translate(featureMesh(), client);
      for (const type of ['cluster', 'route'] as const) for (const r of res[type]) anyOf(TYPE_URLS[type], r);
      const payments = res.cluster.find((c) => c['name'] === 'payments|50051') ?? {};
      expect(payments).to.include.keys('health_checks', 'common_lb_config', 'typed_extension_protocol_options');
    }
  });

  it("routes calls as grpc-js's own matchers (RE2 regexes included) see our matches", () => {
    const rc = translate(featureMesh(), 'proxyless').route.find((r) => r['name'] === 'payments:50051');
    const decoded = grpcDecode('route', rc as Record<string, unknown>).value as RouteConfiguration__Output;
    const routes = decoded.virtual_hosts[0]?.routes ?? [];
    const predicates = routes.map((r) => getPredicateForMatcher(r.match!));
    const pick = (path: string, headers: Record<string, string>): string => {
      const md = new Metadata();
      for (const [k, v] of Object.entries(headers)) md.set(k, v);
      const i = predicates.findIndex((p) => p.apply(path, md));
      return `${routes[i]?.name}#${i}`;
    };
    expect(routes.map((r) => r.name)).to.deep.equal(['payments/0', 'payments/0', 'payments/0', 'default']);
    expect(pick('/pay.Payments/Charge', {})).to.equal('payments/0#0');
    expect(pick('/pay.Payments/Refund', { 'x-env': 'staging', 'x-debug': '1' })).to.equal('payments/0#1');
    expect(pick('/pay.Payments/Refund', { 'x-env': 'prod', 'x-debug': '1' })).to.equal('default#3');
    expect(pick('/pay.Payments/Refund', { cookie: 'a=1; session=beta-7' })).to.equal('payments/0#2');
    expect(pick('/pay.Payments/Refund', { cookie: 'session=beta-7', 'x-off': '1' })).to.equal('default#3');
    expect(pick('/other.Svc/M', {})).to.equal('default#3');
  });

  it('accepts a lone TCP service (api listener and catch-all route only)', () => {
    const state = mesh({ services: [service('db', { ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] })] });
    expect(grpcErrors(state, 'proxyless')).to.deep.equal([]);
  });
});
