// Proxyless gRPC in mesh mTLS (gRFC A29 over A36): a client whose bootstrap has the `trellis` certificate provider gets
// mTLS clusters for STRICT services only, verifying the service's SPIFFE id; an xDS-enabled server gets its Listener
// under the template's name, with TLS requiring a client certificate when its service is STRICT. All valid protos.
import { nodeGroupOf, type ProxylessParams, parseNodeGroup } from '@trellis/node-contract';
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import type { PeerAuthenticationResource } from '../resources/types.ts';
import { GRPC_PORT, mesh, service } from './fixtures.ts';
import { translate } from './translate.ts';

type Obj = Record<string, unknown>;

const strictWeb: PeerAuthenticationResource = {
  apiVersion: 'trellis.dev/v1',
  kind: 'PeerAuthentication',
  metadata: { name: 'web' },
  spec: { selector: { service: 'web' }, mtls: { mode: 'STRICT' } },
};

function translated(proxyless?: ProxylessParams) {
  const state = {
    peerAuthentications: [strictWeb],
    ...mesh({ services: [service('web', { ports: [GRPC_PORT] }), service('db', { ports: [GRPC_PORT] })] }),
    identity: { trustDomain: 'mesh.test', trustBundle: 'x', mode: 'permissive' as const },
  };
  const res = translate(state, 'proxyless', undefined, proxyless);
  for (const l of res.listener) anyOf(TYPE_URLS.listener, l);
  for (const c of res.cluster) anyOf(TYPE_URLS.cluster, c);
  return res;
}

const named = (list: Obj[], name: string): Obj => {
  const found = list.find((r) => r['name'] === name);
  if (found === undefined) throw new Error(`no ${name} in ${list.map((r) => r['name']).join(', ')}`);
  return found;
};

describe('translator: proxyless gRPC mTLS (A29) and xDS-enabled servers (A36)', () => {
  it('a client with the certificate provider: mTLS to STRICT services only, checking their SPIFFE id', () => {
    const res = translated({ mtls: true });
    const web = named(res.cluster, 'web|9090')['transport_socket'] as Obj;
    const ctx = (web['typed_config'] as Obj)['common_tls_context'] as Obj;
    expect(ctx['tls_certificate_provider_instance']).to.deep.equal({
      instance_name: 'trellis',
      certificate_name: 'default',
    });
    expect(ctx['validation_context']).to.deep.equal({
      ca_certificate_provider_instance: { instance_name: 'trellis', certificate_name: 'ROOTCA' },
      match_subject_alt_names: [{ exact: 'spiffe://mesh.test/ns/default/sa/web' }],
    });
    expect(named(res.cluster, 'db|9090')).to.not.have.property('transport_socket');
    // Without the provider (a plain proxyless client), nothing changes.
    expect(translated({ mtls: false }).cluster.some((c) => c['transport_socket'] !== undefined)).to.equal(false);
    expect(translated().cluster.some((c) => c['transport_socket'] !== undefined)).to.equal(false);
  });

  it("a server gets the Listener its template names for the address it binds; TLS when it's STRICT and has certificates", () => {
    const name = 'grpc/server?xds.resource.listening_address=127.0.0.1:9090';
    const strict = named(
      translated({ mtls: true, server: { service: 'web', address: '127.0.0.1', port: 9090 } }).listener,
      name,
    );
    expect(strict['address']).to.deep.equal({ socket_address: { address: '127.0.0.1', port_value: 9090 } });
    const chain = (strict['filter_chains'] as Obj[])[0] as Obj;
    expect(chain).to.not.have.property('filter_chain_match');
    const hcm = ((chain['filters'] as Obj[])[0] as Obj)['typed_config'] as Obj;
    expect((hcm['route_config'] as Obj)['virtual_hosts']).to.deep.equal([
      { name: 'inbound', domains: ['*'], routes: [{ match: { prefix: '' }, non_forwarding_action: {} }] },
    ]);
    const tls = (chain['transport_socket'] as Obj)['typed_config'] as Obj;
    expect(tls['require_client_certificate']).to.deep.equal({ value: true });
    // A PERMISSIVE service's server, or one without certificates: plaintext (gRPC cannot take both on one port).
    const db = translated({ mtls: true, server: { service: 'db', address: '0.0.0.0', port: 9090 } });
    const dbListener = named(db.listener, 'grpc/server?xds.resource.listening_address=0.0.0.0:9090');
    expect((dbListener['filter_chains'] as Obj[])[0]).to.not.have.property('transport_socket');
    // A STRICT service's server without certificates is not served at all (never plaintext under STRICT).
    const noCerts = translated({ mtls: false, server: { service: 'web', address: '127.0.0.1', port: 9090 } });
    expect(noCerts.listener.map((l) => l['name'])).to.not.include(name);
    expect(translated().listener.some((l) => String(l['name']).startsWith('grpc/server'))).to.equal(false);
  });

  it('groups proxyless nodes by what shapes them, and reads the group back', () => {
    const node = (metadata: Record<string, unknown>) => ({
      id: 'n',
      cluster: '',
      metadata,
      locality: { region: '', zone: '', sub_zone: '' },
      userAgentName: 'gRPC Node.js',
      userAgentVersion: '',
      clientFeatures: [],
    });
    expect(nodeGroupOf(node({}))).to.equal('proxyless');
    const server = nodeGroupOf(
      node({
        TRELLIS_SERVICE: 'web',
        TRELLIS_PORT: '9090',
        TRELLIS_INBOUND_ADDRESS: '127.0.0.1',
        TRELLIS_MTLS: 'true',
      }),
    );
    expect(parseNodeGroup(server)).to.deep.equal({
      client: 'proxyless',
      proxyless: { mtls: true, server: { service: 'web', address: '127.0.0.1', port: 9090 } },
    });
    expect(parseNodeGroup(nodeGroupOf(node({ TRELLIS_MTLS: 'true' })))).to.deep.equal({
      client: 'proxyless',
      proxyless: { mtls: true },
    });
    expect(parseNodeGroup('proxyless:{"server":{"port":"x"}}')).to.equal(undefined);
  });
});
