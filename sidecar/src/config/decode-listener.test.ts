// Listener decoding: outbound/inbound/TCP listeners as the control plane emits them, skips, and NACK-worthy errors.

import { expect } from 'chai';
import { HTTP_LIMIT_DEFAULTS } from './decode-http-limits.ts';
import { CONNECTION_LIMIT_TYPE, decodeListener } from './decode-listener.ts';
import { hcm, ROUTER, routerFilter, socketListener, TCP_PROXY, wire } from './envoy-fixtures.ts';
import type { ListenerConfig } from './model.ts';

type Obj = Record<string, unknown>;

const CONNECTION_LIMIT = `type.googleapis.com/${CONNECTION_LIMIT_TYPE}`;

function ok(object: Obj): ListenerConfig {
  const r = decodeListener(wire('listener', object), 'v1');
  if ('error' in r) throw new Error(r.error);
  if (r.value === null) throw new Error('listener skipped');
  return r.value;
}

function error(object: Obj): string {
  const r = decodeListener(wire('listener', object), 'v1');
  if (!('error' in r)) throw new Error(`expected an error, got ${JSON.stringify(r.value)}`);
  return r.error;
}

describe('decodeListener', () => {
  it('decodes the outbound listener: HCM over RDS, upgrades, defaults', () => {
    const l = ok(
      socketListener(
        'outbound',
        hcm('outbound', {
          use_remote_address: { value: true },
          generate_request_id: { value: true },
          upgrade_configs: [{ upgrade_type: 'websocket' }, { upgrade_type: 'CONNECT' }],
        }),
        { traffic_direction: 'OUTBOUND' },
      ),
    );
    expect(l).to.deep.include({
      name: 'outbound',
      address: '127.0.0.1',
      port: 15001,
      direction: 'outbound',
      version: 'v1',
    });
    expect(l.filter).to.deep.equal({
      type: 'http',
      http: {
        statPrefix: 'outbound',
        routeConfigName: 'outbound',
        codec: 'auto',
        useRemoteAddress: true,
        xffNumTrustedHops: 0,
        generateRequestId: true,
        forwardClientCert: { mode: 'sanitize', setUri: false },
        serverName: 'trellis',
        serverHeaderTransformation: 'overwrite',
        requestTimeoutMs: 0,
        streamIdleTimeoutMs: 300_000,
        maxRequestHeadersKb: 60,
        maxHeadersCount: 100,
        pathNormalization: { normalizePath: false, mergeSlashes: false, escapedSlashes: 'keep-unchanged' },
        limits: { ...HTTP_LIMIT_DEFAULTS },
        upgrades: ['websocket', 'CONNECT'],
        accessLogs: [],
        httpFilters: [],
      },
    });
  });

  it('decodes an inbound listener with an inline route configuration', () => {
    const routeConfig = {
      name: 'inbound|orders',
      virtual_hosts: [
        {
          name: 'inbound|orders',
          domains: ['*'],
          routes: [
            { name: 'default', match: { prefix: '/' }, route: { cluster: 'inbound|8080', timeout: { seconds: 0 } } },
          ],
        },
      ],
    };
    const { rds: _rds, ...base } = hcm('x');
    const l = ok(
      socketListener(
        'inbound',
        { ...base, route_config: routeConfig },
        {
          address: { socket_address: { address: '0.0.0.0', port_value: 15006 } },
          traffic_direction: 'INBOUND',
        },
      ),
    );
    expect(l.direction).to.equal('inbound');
    if (l.filter.type !== 'http') throw new Error('expected http');
    expect(l.filter.http.routeConfigName).to.equal(undefined);
    const route = l.filter.http.routeConfig?.virtualHosts[0]?.routes[0];
    expect(route?.action).to.deep.include({ type: 'route' });
    if (route?.action.type === 'route') expect(route.action.route.timeoutMs).to.equal(0);
  });

  it('decodes a tcp_proxy listener (single and weighted clusters, idle timeout default 1h)', () => {
    const single = ok(socketListener('tcp', { '@type': TCP_PROXY, stat_prefix: 's', cluster: 'redis|6379' }));
    expect(single.filter).to.deep.equal({
      type: 'tcp',
      tcp: {
        statPrefix: 's',
        clusters: [{ name: 'redis|6379', weight: 1 }],
        totalWeight: 1,
        idleTimeoutMs: 3_600_000,
        accessLogs: [],
      },
    });
    const weighted = ok(
      socketListener('tcp', {
        '@type': TCP_PROXY,
        stat_prefix: 's',
        weighted_clusters: {
          clusters: [
            { name: 'a', weight: 1 },
            { name: 'b', weight: 3 },
          ],
        },
        idle_timeout: { seconds: 0 },
      }),
    );
    expect(weighted.filter.type === 'tcp' && weighted.filter.tcp).to.deep.include({ totalWeight: 4, idleTimeoutMs: 0 });
  });

  it('decodes a network local_ratelimit filter into the connection rate limit; refuses share_key', () => {
    const rate = {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit',
      stat_prefix: 'inbound_cx',
      token_bucket: { max_tokens: 100, tokens_per_fill: { value: 50 }, fill_interval: { seconds: 1 } },
    };
    const tcp = { '@type': TCP_PROXY, stat_prefix: 's', cluster: 'a' };
    const listener = (config: Obj) => ({
      name: 'tcp',
      address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
      filter_chains: [
        {
          filters: [
            { name: 'r', typed_config: config },
            { name: 't', typed_config: tcp },
          ],
        },
      ],
    });
    expect(ok(listener(rate)).connectionRateLimit).to.deep.equal({
      statPrefix: 'inbound_cx',
      tokenBucket: { maxTokens: 100, tokensPerFill: 50, fillIntervalMs: 1000 },
    });
    expect(error(listener({ ...rate, share_key: 'k' }))).to.match(/typed_config\.share_key: is not supported/);
    // runtime_enabled's default_value off: the filter is there but does nothing.
    const off = { ...rate, runtime_enabled: { default_value: { value: false }, runtime_key: 'k' } };
    expect(ok(listener(off)).connectionRateLimit).to.equal(undefined);
    expect(error(listener({ ...rate, token_bucket: undefined }))).to.match(/typed_config\.token_bucket: is required/);
  });

  it('decodes a connection_limit network filter before the terminal filter into maxConnections', () => {
    const limit = { '@type': CONNECTION_LIMIT, stat_prefix: 'cl', max_connections: { value: 50 } };
    const tcp = { '@type': TCP_PROXY, stat_prefix: 's', cluster: 'a' };
    const listener = {
      name: 'tcp',
      address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
      filter_chains: [
        {
          filters: [
            { name: 'l', typed_config: limit },
            { name: 't', typed_config: tcp },
          ],
        },
      ],
    };
    expect(ok(listener).maxConnections).to.equal(50);
    expect(ok(socketListener('tcp', tcp)).maxConnections).to.equal(undefined);
    const zero = structuredClone(listener);
    (zero.filter_chains[0]?.filters[0]?.typed_config as Obj)['max_connections'] = { value: 0 };
    expect(error(zero)).to.match(
      /filter_chains\[0\]\.filters\[0\]\.typed_config\.max_connections: expected an integer >= 1/,
    );
    const delayed = structuredClone(listener);
    (delayed.filter_chains[0]?.filters[0]?.typed_config as Obj)['delay'] = { seconds: 1 };
    expect(error(delayed)).to.match(/typed_config\.delay: not supported/);
  });

  it('reads forward_client_cert_details (SANITIZE by default); refuses details it cannot set, naming the field', () => {
    const l = ok(
      socketListener(
        'inbound',
        hcm('r', { forward_client_cert_details: 'SANITIZE_SET', set_current_client_cert_details: { uri: true } }),
      ),
    );
    expect(l.filter.type === 'http' && l.filter.http.forwardClientCert).to.deep.equal({
      mode: 'sanitize-set',
      setUri: true,
    });
    const plain = ok(socketListener('outbound', hcm('r')));
    expect(plain.filter.type === 'http' && plain.filter.http.forwardClientCert).to.deep.equal({
      mode: 'sanitize',
      setUri: false,
    });
    expect(
      error(socketListener('inbound', hcm('r', { set_current_client_cert_details: { subject: { value: true } } }))),
    ).to.match(/set_current_client_cert_details\.subject: is not supported \(uri is\)/);
  });

  it('reads per_connection_buffer_limit_bytes', () => {
    const tcp = { '@type': TCP_PROXY, stat_prefix: 's', cluster: 'a' };
    const limited = socketListener('tcp', tcp, { per_connection_buffer_limit_bytes: { value: 4096 } });
    expect(ok(limited).bufferLimitBytes).to.equal(4096);
    expect(ok(socketListener('tcp', tcp)).bufferLimitBytes).to.equal(undefined);
  });

  it('skips api_listeners (they are for gRPC proxyless clients)', () => {
    const r = decodeListener(
      wire('listener', { name: 'orders', api_listener: { api_listener: hcm('orders:8080') } }),
      '1',
    );
    expect(r).to.deep.equal({ value: null });
  });

  const errors: [string, Obj, RegExp][] = [
    [
      'an unsupported network filter',
      socketListener('outbound', { '@type': ROUTER }),
      /^listener outbound: filter_chains\[0\]\.filters\[0\]\.typed_config: unsupported network filter envoy\.extensions\.filters\.http\.router\.v3\.Router$/,
    ],
    [
      'an unsupported HTTP filter that is not optional',
      socketListener(
        'outbound',
        hcm('r', { http_filters: [{ name: 'x', typed_config: { '@type': TCP_PROXY } }, routerFilter()] }),
      ),
      /filter_chains\[0\]\.filters\[0\]\.typed_config\.http_filters\[0\]\.typed_config: unsupported HTTP filter .*TcpProxy/,
    ],
    ['no router filter', socketListener('o', hcm('r', { http_filters: [] })), /http_filters: needs the router filter/],
    [
      'the router not last',
      socketListener(
        'o',
        hcm('r', { http_filters: [routerFilter(), { name: 'x', typed_config: { '@type': ROUTER } }] }),
      ),
      /http_filters\[0\]: the router filter must be the last/,
    ],
    [
      'a hostname address',
      socketListener('o', hcm('r'), { address: { socket_address: { address: 'localhost', port_value: 1 } } }),
      /address\.socket_address\.address: expected an IP address/,
    ],
    [
      'a bad port',
      socketListener('o', hcm('r'), { address: { socket_address: { address: '127.0.0.1', port_value: 70000 } } }),
      /address\.socket_address\.port_value: expected a port/,
    ],
    [
      'two filter chains',
      { ...socketListener('o', hcm('r')), filter_chains: [{ filters: [] }, { filters: [] }] },
      /filter_chains: two chains must match transport_protocol tls and raw_buffer/,
    ],
    [
      'TLS on the filter chain',
      {
        ...socketListener('o', hcm('r')),
        filter_chains: [
          {
            filters: [{ name: 'f', typed_config: hcm('r') }],
            transport_socket: {
              name: 'tls',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
              },
            },
          },
        ],
      },
      /filter_chains\[0\]\.transport_socket\.typed_config\.common_tls_context: is required/,
    ],
    [
      'an HTTP/3 codec',
      socketListener('o', hcm('r', { codec_type: 'HTTP3' })),
      /codec_type: codec HTTP3 is not supported/,
    ],
    [
      'an invalid regex in an inline route',
      socketListener('o', {
        ...hcm('r'),
        rds: undefined,
        route_config: {
          name: 'i',
          virtual_hosts: [
            {
              name: 'v',
              domains: ['*'],
              routes: [{ match: { safe_regex: { regex: '(?=a)' } }, route: { cluster: 'c' } }],
            },
          ],
        },
      }),
      /route_config\.virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: invalid RE2 regex "\(\?=a\)": .*\(lookahead is not supported by RE2\)$/,
    ],
  ];
  for (const [label, object, pattern] of errors) {
    it(`rejects ${label}, naming the field path`, () => {
      expect(error(object)).to.match(pattern);
    });
  }

  it('accepts an optional unknown HTTP filter before the router', () => {
    const l = ok(
      socketListener(
        'o',
        hcm('r', {
          http_filters: [{ name: 'x', is_optional: true, typed_config: { '@type': TCP_PROXY } }, routerFilter()],
        }),
      ),
    );
    expect(l.filter.type).to.equal('http');
  });
});
