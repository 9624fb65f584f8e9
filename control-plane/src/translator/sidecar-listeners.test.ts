// Sidecar socket resources: outbound/inbound/TCP listeners, the inbound cluster, bind clashes; all encode.

import type { ClientKind, SidecarParams } from '@trellis/node-contract';
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import type { TranslatedResources } from '../cache/translated-resources.ts';
import type { Protocol } from '../resources/types.ts';
import { mesh, service, shopMesh } from './fixtures.ts';
import { HTTP_PROTOCOL_OPTIONS_ENCODABLE } from './protocol-options.ts';
import { translateWithWarnings } from './translate.ts';

type Obj = Record<string, unknown>;

const PARAMS: SidecarParams = {
  service: 'orders',
  appPort: 8080,
  inboundAddress: '0.0.0.0',
  inboundPort: 15006,
  outboundPort: 15001,
  tcpUpstreams: [{ service: 'payments', port: 50051, localPort: 16379 }],
};

function encodeAll(res: TranslatedResources): void {
  for (const type of ['cluster', 'endpoint', 'listener', 'route', 'secret'] as const) {
    for (const r of res[type]) anyOf(TYPE_URLS[type], r);
  }
}

function sidecar(params: SidecarParams, state = shopMesh()): { res: TranslatedResources; warnings: string[] } {
  const { resources, warnings } = translateWithWarnings(state, 'sidecar', params);
  encodeAll(resources);
  return { res: resources, warnings };
}

function named(list: Obj[], name: string): Obj {
  const found = list.find((r) => r['name'] === name);
  if (!found) throw new Error(`no resource named ${name} in ${list.map((r) => r['name']).join(', ')}`);
  return found;
}

/** The typed_config of a socket listener's only filter. */
function filterOf(listener: Obj): Obj {
  const chains = listener['filter_chains'] as { filters: { name: string; typed_config: Obj }[] }[];
  expect(chains).to.have.length(1);
  expect(chains[0]?.filters).to.have.length(1);
  return chains[0]!.filters[0]!.typed_config;
}

function bind(listener: Obj): string {
  const sa = (listener['address'] as { socket_address: { address: string; port_value: number } }).socket_address;
  return `${sa.address}:${sa.port_value}`;
}

describe('sidecar socket listeners', () => {
  it('emits them only for sidecar clients given params; the others keep api_listeners only', () => {
    for (const client of ['proxyless', 'envoy', 'sidecar'] as ClientKind[]) {
      const { resources } = translateWithWarnings(shopMesh(), client);
      expect(resources.listener).to.not.be.empty;
      expect(resources.listener.every((l) => 'api_listener' in l)).to.equal(true);
      expect(resources.route.map((r) => r['name'])).to.not.include('outbound');
    }
    const { res } = sidecar(PARAMS);
    const names = res.listener.filter((l) => !('api_listener' in l)).map((l) => l['name']);
    expect(names).to.deep.equal(['inbound', 'outbound', 'outbound-tcp|payments|50051']);
  });

  it('outbound: loopback HTTP proxy, HCM over RDS "outbound" with websocket and CONNECT', () => {
    const l = named(sidecar({ ...PARAMS, outboundPort: 15101 }).res.listener, 'outbound');
    expect(bind(l)).to.equal('127.0.0.1:15101');
    expect(l['traffic_direction']).to.equal('OUTBOUND');
    const hcm = filterOf(l);
    expect(hcm['@type']).to.match(/HttpConnectionManager$/);
    expect(hcm).to.include({ codec_type: 'AUTO', stat_prefix: 'outbound' });
    expect(hcm['use_remote_address']).to.deep.equal({ value: true });
    expect(hcm['generate_request_id']).to.deep.equal({ value: true });
    expect(hcm['upgrade_configs']).to.deep.equal([{ upgrade_type: 'websocket' }, { upgrade_type: 'CONNECT' }]);
    expect((hcm['rds'] as Obj)['route_config_name']).to.equal('outbound');
    const filters = hcm['http_filters'] as { name: string }[];
    expect(filters.at(-1)?.name).to.equal('envoy.filters.http.router');
  });

  const inboundTable: [string, Protocol, 'http' | 'tcp', boolean][] = [
    ['HTTP', 'HTTP', 'http', false],
    ['HTTP2', 'HTTP2', 'http', true],
    ['GRPC', 'GRPC', 'http', true],
    ['TCP', 'TCP', 'tcp', false],
  ];
  for (const [label, protocol, kind, h2] of inboundTable) {
    it(`inbound for a ${label} port: ${kind === 'http' ? 'HCM with an inline route' : 'tcp_proxy'} to inbound|<appPort>`, () => {
      const state = mesh({ services: [service('db', { ports: [{ name: 'p', port: 5432, protocol }] })] });
      const params: SidecarParams = { ...PARAMS, service: 'db', appPort: 5433, inboundAddress: '10.1.2.3' };
      const { res } = sidecar(params, state);
      const l = named(res.listener, 'inbound');
      expect(bind(l)).to.equal('10.1.2.3:15006');
      expect(l['traffic_direction']).to.equal('INBOUND');
      const config = filterOf(l);
      if (kind === 'tcp') {
        expect(config).to.include({ cluster: 'inbound|5433' });
        expect(config['@type']).to.match(/TcpProxy$/);
      } else {
        expect(config).to.include({ codec_type: 'AUTO' });
        expect(config['upgrade_configs']).to.deep.equal([{ upgrade_type: 'websocket' }]);
        const rc = config['route_config'] as { name: string; virtual_hosts: { domains: string[]; routes: Obj[] }[] };
        expect(rc.name).to.equal('inbound|db');
        expect(rc.virtual_hosts[0]?.domains).to.deep.equal(['*']);
        expect(rc.virtual_hosts[0]?.routes[0]).to.deep.include({
          match: { prefix: '/' },
          route: { cluster: 'inbound|5433', timeout: { seconds: 0, nanos: 0 } },
        });
      }
      const c = named(res.cluster, 'inbound|5433');
      expect(c['type']).to.equal('STATIC');
      expect(c['connect_timeout']).to.deep.equal({ seconds: 5, nanos: 0 });
      expect(c['load_assignment']).to.deep.equal({
        cluster_name: 'inbound|5433',
        endpoints: [
          { lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 5433 } } } }] },
        ],
      });
      expect('typed_extension_protocol_options' in c).to.equal(h2 && HTTP_PROTOCOL_OPTIONS_ENCODABLE);
    });
  }

  it('inbound fronts the port numbered like the app port, else the first port', () => {
    const grpc = sidecar({ ...PARAMS, appPort: 9090 }).res;
    expect('typed_extension_protocol_options' in named(grpc.cluster, 'inbound|9090')).to.equal(
      HTTP_PROTOCOL_OPTIONS_ENCODABLE,
    );
    const other = sidecar({ ...PARAMS, appPort: 3000 }).res;
    expect('typed_extension_protocol_options' in named(other.cluster, 'inbound|3000')).to.equal(false);
    expect(filterOf(named(other.listener, 'inbound'))['@type']).to.match(/HttpConnectionManager$/);
  });

  const noInbound: [string, Partial<SidecarParams>][] = [
    ['no service', { service: 'ghost' }],
    ['no app port', {}],
  ];
  for (const [label, patch] of noInbound) {
    it(`has no inbound listener or cluster with ${label}`, () => {
      const params: SidecarParams = { ...PARAMS, ...patch };
      if (label === 'no app port') delete params.appPort;
      const { res } = sidecar(params);
      expect(res.listener.map((l) => l['name'])).to.not.include('inbound');
      expect(res.cluster.map((c) => String(c['name'])).filter((n) => n.startsWith('inbound|'))).to.deep.equal([]);
      named(res.listener, 'outbound');
    });
  }

  it('tcp upstreams: a loopback tcp_proxy listener per entry to the <svc>|<port> cluster', () => {
    const { res } = sidecar({
      ...PARAMS,
      tcpUpstreams: [
        { service: 'payments', port: 50051, localPort: 16379 },
        { service: 'orders', port: 9090, localPort: 17000 },
      ],
    });
    const a = named(res.listener, 'outbound-tcp|orders|9090');
    expect(bind(a)).to.equal('127.0.0.1:17000');
    expect(filterOf(a)).to.include({ cluster: 'orders|9090', stat_prefix: 'outbound-tcp|orders|9090' });
    expect(filterOf(named(res.listener, 'outbound-tcp|payments|50051'))).to.include({ cluster: 'payments|50051' });
  });

  const clashes: [string, Partial<SidecarParams>, string][] = [
    [
      'a TCP upstream on the outbound port',
      { tcpUpstreams: [{ service: 'payments', port: 50051, localPort: 15001 }] },
      'outbound-tcp|payments|50051',
    ],
    ['inbound on 0.0.0.0 and the outbound port', { inboundPort: 15001 }, 'inbound'],
    [
      'a repeated TCP upstream',
      {
        tcpUpstreams: [
          { service: 'payments', port: 50051, localPort: 1 },
          { service: 'payments', port: 50051, localPort: 2 },
        ],
      },
      'outbound-tcp|payments|50051',
    ],
  ];
  for (const [label, patch, leftOut] of clashes) {
    it(`leaves out a clashing bind (${label}) with a warning`, () => {
      const { res, warnings } = sidecar({ ...PARAMS, ...patch });
      expect(warnings.join('\n')).to.include(`sidecar listener ${leftOut}`);
      expect(res.listener.filter((l) => l['name'] === leftOut).length).to.be.at.most(1);
      named(res.listener, 'outbound');
    });
  }

  it('lets the inbound listener share a port number on another specific address', () => {
    const { res, warnings } = sidecar({ ...PARAMS, inboundAddress: '10.0.0.9', inboundPort: 15001 });
    expect(warnings).to.deep.equal([]);
    expect(bind(named(res.listener, 'inbound'))).to.equal('10.0.0.9:15001');
  });

  it('is deterministic and the snapshot stays consistent (inline inbound route → STATIC cluster)', () => {
    const a = JSON.stringify(sidecar(PARAMS).res);
    expect(JSON.stringify(sidecar(PARAMS).res)).to.equal(a);
  });
});
