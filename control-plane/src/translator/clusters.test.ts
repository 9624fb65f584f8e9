// Clusters: LB policy per client kind, outlier detection, circuit breakers, timeouts, metadata, HTTP/2 options.

import type { ClientKind } from '@trellis/node-contract';
import { anyOf, decodeAny, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import type { LbAlgorithm, ServicePort, TrafficPolicySpec } from '../resources/types.ts';
import { buildCluster } from './clusters.ts';
import { lbPolicyFor } from './lb-config.ts';
import type { ClusterKey } from './mesh-index.ts';
import { HTTP_PROTOCOL_OPTIONS_ENCODABLE } from './protocol-options.ts';

const HTTP: ServicePort = { name: 'http', port: 8080, protocol: 'HTTP' };
const GRPC: ServicePort = { name: 'grpc', port: 9090, protocol: 'GRPC' };

function key(port: ServicePort, subset?: string): ClusterKey {
  const name = subset ? `orders|${port.port}|${subset}` : `orders|${port.port}`;
  return subset
    ? { name, service: 'orders', port, subset: { name: subset, labels: { version: subset } } }
    : { name, service: 'orders', port };
}

function cluster(policy: TrafficPolicySpec | undefined, client: ClientKind, port = HTTP, subset?: string) {
  const c = buildCluster(key(port, subset), policy, client);
  anyOf(TYPE_URLS.cluster, c); // schema check
  return c as Record<string, unknown> & {
    metadata: { filter_metadata: { trellis: { fields: Record<string, unknown> } } };
  };
}

describe('clusters', () => {
  describe('lb policy by client kind', () => {
    const table: [LbAlgorithm | undefined, ClientKind, string, string?][] = [
      [undefined, 'proxyless', 'ROUND_ROBIN'],
      ['ROUND_ROBIN', 'proxyless', 'ROUND_ROBIN'],
      ['LEAST_REQUEST', 'proxyless', 'ROUND_ROBIN'],
      ['RANDOM', 'proxyless', 'ROUND_ROBIN'],
      ['MAGLEV', 'proxyless', 'RING_HASH'],
      ['LEAST_CONNECTIONS', 'proxyless', 'ROUND_ROBIN'],
      ['RING_HASH', 'proxyless', 'RING_HASH'],
      ['LEAST_REQUEST', 'sidecar', 'LEAST_REQUEST'],
      ['RANDOM', 'sidecar', 'RANDOM'],
      ['MAGLEV', 'sidecar', 'MAGLEV'],
      ['RING_HASH', 'sidecar', 'RING_HASH'],
      ['LEAST_CONNECTIONS', 'sidecar', 'LEAST_REQUEST', 'LEAST_CONNECTIONS'],
      ['LEAST_RESPONSE_TIME', 'sidecar', 'LEAST_REQUEST', 'LEAST_RESPONSE_TIME'],
      ['LEAST_CONNECTIONS', 'envoy', 'LEAST_REQUEST'],
      ['LEAST_RESPONSE_TIME', 'envoy', 'LEAST_REQUEST'],
      ['MAGLEV', 'envoy', 'MAGLEV'],
    ];
    for (const [algo, client, policy, sidecarAlgo] of table) {
      it(`${algo ?? '(none)'} for ${client} → ${policy}${sidecarAlgo ? ` + lb_algorithm ${sidecarAlgo}` : ''}`, () => {
        expect(lbPolicyFor(client, algo)).to.deep.equal(
          sidecarAlgo ? { policy, sidecarAlgorithm: sidecarAlgo } : { policy },
        );
        const c = cluster(algo ? { service: 'orders', loadBalancer: { algorithm: algo } } : undefined, client);
        expect(c['lb_policy']).to.equal(policy);
        const lbMeta = c.metadata.filter_metadata.trellis.fields['lb_algorithm'];
        expect(lbMeta).to.deep.equal(sidecarAlgo ? { stringValue: sidecarAlgo } : undefined);
      });
    }

    it('gives RING_HASH a ring_hash_lb_config gRPC accepts', () => {
      const c = cluster({ service: 'orders', loadBalancer: { algorithm: 'RING_HASH' } }, 'proxyless');
      expect(c['ring_hash_lb_config']).to.deep.equal({
        minimum_ring_size: { value: 1024 },
        maximum_ring_size: { value: 8_388_608 },
        hash_function: 'XX_HASH',
      });
    });
  });

  it('is an EDS cluster over ADS whose service_name is its own name', () => {
    const c = cluster(undefined, 'proxyless', HTTP, 'v2');
    expect(c['name']).to.equal('orders|8080|v2');
    expect(c['type']).to.equal('EDS');
    expect(c['eds_cluster_config']).to.deep.equal({
      eds_config: { ads: {}, resource_api_version: 'V3' },
      service_name: 'orders|8080|v2',
    });
  });

  it('defaults connect_timeout to 5s and takes connectionPool.connectTimeout', () => {
    expect(cluster(undefined, 'envoy')['connect_timeout']).to.deep.equal({ seconds: 5, nanos: 0 });
    const c = cluster({ service: 'orders', connectionPool: { connectTimeout: '1500ms' } }, 'envoy');
    expect(c['connect_timeout']).to.deep.equal({ seconds: 1, nanos: 500_000_000 });
    expect(
      cluster({ service: 'orders', connectionPool: { connectTimeout: 'soon' } }, 'envoy')['connect_timeout'],
    ).to.deep.equal({
      seconds: 5,
      nanos: 0,
    });
  });

  it('maps the connection pool to DEFAULT-priority circuit breaker thresholds', () => {
    const c = cluster(
      {
        service: 'orders',
        connectionPool: { maxConnections: 10, maxPendingRequests: 20, maxRequests: 30, maxRetries: 4 },
      },
      'envoy',
    );
    expect(c['circuit_breakers']).to.deep.equal({
      thresholds: [
        {
          priority: 'DEFAULT',
          max_connections: { value: 10 },
          max_pending_requests: { value: 20 },
          max_requests: { value: 30 },
          max_retries: { value: 4 },
        },
      ],
    });
    expect(
      cluster({ service: 'orders', connectionPool: { connectTimeout: '1s' } }, 'envoy')['circuit_breakers'],
    ).to.equal(undefined);
  });

  it('describes itself in trellis filter metadata, which survives encoding', () => {
    const c = cluster(undefined, 'sidecar', GRPC, 'v1');
    const back = decodeAny(anyOf(TYPE_URLS.cluster, c)) as typeof c;
    expect(back.metadata.filter_metadata.trellis.fields).to.deep.equal({
      service: { stringValue: 'orders' },
      port: { numberValue: 9090 },
      port_name: { stringValue: 'grpc' },
      subset: { stringValue: 'v1' },
      protocol: { stringValue: 'GRPC' },
    });
  });

  it('asks sidecars and Envoy for HTTP/2 upstream on GRPC/HTTP2 ports when the proto is available, never proxyless', () => {
    const opts = (client: ClientKind, port: ServicePort) =>
      cluster(undefined, client, port)['typed_extension_protocol_options'];
    expect(opts('proxyless', GRPC)).to.equal(undefined);
    expect(opts('sidecar', HTTP)).to.equal(undefined);
    if (HTTP_PROTOCOL_OPTIONS_ENCODABLE) {
      expect(opts('sidecar', GRPC)).to.have.key('envoy.extensions.upstreams.http.v3.HttpProtocolOptions');
    } else {
      expect(opts('sidecar', GRPC)).to.equal(undefined);
    }
  });
});
