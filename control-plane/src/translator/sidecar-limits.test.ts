// A Service's sidecar limits in xDS: HCM fields and a connection_limit filter on both of its sidecar's listeners, none
// by default, never on other services' sidecars or proxyless api_listeners; the listeners encode and decode intact.

import type { ClientKind, SidecarParams } from '@trellis/node-contract';
import { anyOf, decodeAny, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import type { Protocol, SidecarOptions } from '../resources/types.ts';
import { mesh, service } from './fixtures.ts';
import { CONNECTION_LIMIT_FILTER, CONNECTION_LIMIT_TYPE_URL, CONNECTION_RATE_LIMIT_FILTER } from './sidecar-limits.ts';
import { translateWithWarnings } from './translate.ts';

type Obj = Record<string, unknown>;
type Filter = { name: string; typed_config: Obj };

const PARAMS: SidecarParams = {
  service: 'orders',
  appPort: 8080,
  inboundAddress: '0.0.0.0',
  inboundPort: 15006,
  outboundPort: 15001,
  tcpUpstreams: [],
};

const ALL: SidecarOptions = {
  requestHeadersTimeout: '200ms',
  requestTimeout: '1m30s',
  streamIdleTimeout: '0s',
  idleTimeout: '1.5s',
  maxRequestsPerConnection: 1000,
  maxRequestHeadersKb: 96,
  maxHeadersCount: 50,
  http2: { maxConcurrentStreams: 7, initialStreamWindowSize: 1_048_576, initialConnectionWindowSize: 4_194_304 },
  maxConnections: 3,
};

/** What ALL becomes on an HCM, as the control plane writes it. */
const ALL_HCM_FIELDS: Obj = {
  request_headers_timeout: { seconds: 0, nanos: 200_000_000 },
  request_timeout: { seconds: 90, nanos: 0 },
  stream_idle_timeout: { seconds: 0, nanos: 0 },
  max_request_headers_kb: { value: 96 },
  common_http_protocol_options: {
    idle_timeout: { seconds: 1, nanos: 500_000_000 },
    max_headers_count: { value: 50 },
    max_requests_per_connection: { value: 1000 },
  },
};
const ALL_HTTP2: Obj = {
  max_concurrent_streams: { value: 7 },
  initial_stream_window_size: { value: 1_048_576 },
  initial_connection_window_size: { value: 4_194_304 },
};

const LIMIT_FIELDS = [
  'request_headers_timeout',
  'request_timeout',
  'stream_idle_timeout',
  'max_request_headers_kb',
  'common_http_protocol_options',
  'http2_protocol_options',
];

function pick(o: Obj, keys: readonly string[]): Obj {
  return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
}

/** The sidecar listeners of orders (with these options and port protocol), each checked to encode. */
function listeners(sidecar?: SidecarOptions, protocol: Protocol = 'HTTP', params = PARAMS): Map<string, Obj> {
  const orders = service('orders', { ports: [{ name: 'p', port: 8080, protocol }] });
  if (sidecar !== undefined) orders.spec.sidecar = sidecar;
  const payments = service('payments', { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] });
  const { resources } = translateWithWarnings(mesh({ services: [orders, payments] }), 'sidecar', params);
  for (const l of resources.listener) anyOf(TYPE_URLS.listener, l);
  return new Map(resources.listener.map((l) => [String(l['name']), l]));
}

function filters(listener: Obj | undefined): Filter[] {
  const chains = (listener?.['filter_chains'] ?? []) as { filters: Filter[] }[];
  expect(chains).to.have.length(1);
  return chains[0]?.filters ?? [];
}

/** The terminal filter's typed_config (the HCM of an HTTP listener). */
function terminal(listener: Obj | undefined): Obj {
  const list = filters(listener);
  return list[list.length - 1]?.typed_config as Obj;
}

describe('sidecar connection and stream limits', () => {
  it('emits nothing by default: the sidecar applies its own safe defaults', () => {
    const ls = listeners();
    for (const name of ['inbound', 'outbound']) expect(filters(ls.get(name)), name).to.have.length(1);
    expect(pick(terminal(ls.get('inbound')), LIMIT_FIELDS)).to.deep.equal({});
    // The outbound listener keeps its own HTTP/2 setting (CONNECT over HTTP/2) and nothing more.
    expect(pick(terminal(ls.get('outbound')), LIMIT_FIELDS)).to.deep.equal({
      http2_protocol_options: { allow_connect: true },
    });
  });

  it('emits every limit on both HTTP listeners, the outbound keeping allow_connect', () => {
    const ls = listeners(ALL);
    expect(pick(terminal(ls.get('inbound')), LIMIT_FIELDS)).to.deep.equal({
      ...ALL_HCM_FIELDS,
      http2_protocol_options: ALL_HTTP2,
    });
    expect(pick(terminal(ls.get('outbound')), LIMIT_FIELDS)).to.deep.equal({
      ...ALL_HCM_FIELDS,
      http2_protocol_options: { allow_connect: true, ...ALL_HTTP2 },
    });
  });

  it('puts a connection_limit filter before the terminal filter of both listeners', () => {
    const ls = listeners({ maxConnections: 3 });
    for (const name of ['inbound', 'outbound']) {
      const [limit, hcm] = filters(ls.get(name));
      expect(limit, name).to.deep.equal({
        name: CONNECTION_LIMIT_FILTER,
        typed_config: { '@type': CONNECTION_LIMIT_TYPE_URL, stat_prefix: name, max_connections: { value: 3 } },
      });
      expect(hcm?.name).to.equal('envoy.filters.network.http_connection_manager');
      expect(pick(hcm?.typed_config ?? {}, LIMIT_FIELDS)).to.deep.equal(
        name === 'outbound' ? { http2_protocol_options: { allow_connect: true } } : {},
      );
    }
  });

  it('a connection rate puts a network local_ratelimit filter first, before connection_limit (valid Envoy)', () => {
    const ls = listeners({ maxConnectionsPerSecond: 20, maxConnections: 3 });
    for (const name of ['inbound', 'outbound']) {
      const [rate, limit] = filters(ls.get(name));
      expect(rate, name).to.deep.equal({
        name: CONNECTION_RATE_LIMIT_FILTER,
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit',
          stat_prefix: name,
          token_bucket: { max_tokens: 20, tokens_per_fill: { value: 20 }, fill_interval: { seconds: 1, nanos: 0 } },
        },
      });
      expect(limit?.name).to.equal(CONNECTION_LIMIT_FILTER);
      anyOf(TYPE_URLS.listener, ls.get(name) as Record<string, unknown>);
    }
  });

  it('sets per_connection_buffer_limit_bytes on both HTTP listeners (the body read before routing), none by default', () => {
    const ls = listeners({ perConnectionBufferLimitBytes: 65_536 });
    for (const name of ['inbound', 'outbound'])
      expect(ls.get(name)?.['per_connection_buffer_limit_bytes'], name).to.deep.equal({ value: 65_536 });
    const plain = listeners();
    for (const name of ['inbound', 'outbound'])
      expect(plain.get(name)?.['per_connection_buffer_limit_bytes'], name).to.equal(undefined);
    expect(listeners({ perConnectionBufferLimitBytes: 0 }, 'TCP').get('inbound')).to.not.have.property(
      'per_connection_buffer_limit_bytes',
    );
  });

  it('emits only the fields set (a lone HTTP/2 or common option)', () => {
    const inbound = terminal(listeners({ http2: { maxConcurrentStreams: 7 }, maxHeadersCount: 10 }).get('inbound'));
    expect(pick(inbound, LIMIT_FIELDS)).to.deep.equal({
      common_http_protocol_options: { max_headers_count: { value: 10 } },
      http2_protocol_options: { max_concurrent_streams: { value: 7 } },
    });
  });

  it('a TCP port: the inbound tcp_proxy gets the connection limit, HTTP fields stay on the outbound HCM', () => {
    const ls = listeners({ maxConnections: 5, http2: { maxConcurrentStreams: 7 } }, 'TCP');
    const inbound = filters(ls.get('inbound'));
    expect(inbound.map((f) => f.name)).to.deep.equal([CONNECTION_LIMIT_FILTER, 'envoy.filters.network.tcp_proxy']);
    expect(inbound[0]?.typed_config['max_connections']).to.deep.equal({ value: 5 });
    expect(Object.keys(inbound[1]?.typed_config ?? {})).to.not.include('http2_protocol_options');
    expect(terminal(ls.get('outbound'))['http2_protocol_options']).to.deep.equal({
      allow_connect: true,
      max_concurrent_streams: { value: 7 },
    });
  });

  it("another service's sidecar keeps the defaults", () => {
    const ls = listeners(ALL, 'HTTP', { ...PARAMS, service: 'payments' });
    expect(filters(ls.get('inbound'))).to.have.length(1);
    expect(pick(terminal(ls.get('inbound')), LIMIT_FIELDS)).to.deep.equal({});
  });

  it('api_listeners (what proxyless gRPC clients read) never get the limits, whoever the client is', () => {
    const orders = service('orders', { ports: [{ name: 'grpc', port: 8080, protocol: 'GRPC' }], sidecar: ALL });
    for (const client of ['proxyless', 'envoy', 'sidecar'] as ClientKind[]) {
      const params = client === 'sidecar' ? PARAMS : undefined;
      const { resources } = translateWithWarnings(mesh({ services: [orders] }), client, params);
      const apiListeners = resources.listener.filter((l) => 'api_listener' in l);
      expect(apiListeners, client).to.not.be.empty;
      const text = JSON.stringify(apiListeners);
      for (const key of [...LIMIT_FIELDS, 'connection_limit', 'max_concurrent_streams']) {
        expect(text, `${client} ${key}`).to.not.contain(key);
      }
    }
  });

  it('the listeners round-trip through the Envoy protos with every limit intact', () => {
    const ls = listeners(ALL);
    for (const name of ['inbound', 'outbound']) {
      const decoded = decodeAny(anyOf(TYPE_URLS.listener, ls.get(name) ?? {}));
      const [limit, hcm] = filters(decoded);
      expect(limit?.typed_config, name).to.deep.equal({
        '@type': CONNECTION_LIMIT_TYPE_URL,
        stat_prefix: name,
        max_connections: { value: 3 },
      });
      // Decoded without defaults: zero seconds and zero nanos are left out, as the sidecar reads them.
      expect(pick(hcm?.typed_config ?? {}, LIMIT_FIELDS), name).to.deep.equal({
        request_headers_timeout: { nanos: 200_000_000 },
        request_timeout: { seconds: 90 },
        stream_idle_timeout: {},
        max_request_headers_kb: { value: 96 },
        common_http_protocol_options: {
          idle_timeout: { seconds: 1, nanos: 500_000_000 },
          max_headers_count: { value: 50 },
          max_requests_per_connection: { value: 1000 },
        },
        http2_protocol_options: name === 'outbound' ? { allow_connect: true, ...ALL_HTTP2 } : ALL_HTTP2,
      });
    }
  });
});
