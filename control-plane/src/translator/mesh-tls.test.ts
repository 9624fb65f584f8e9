// Mesh mTLS translation: a sidecar holding a workload certificate gets clusters with mTLS to tlsMode=mesh endpoints
// (verifying the service's SPIFFE id) and plaintext to the rest, and an inbound listener terminating mTLS (PERMISSIVE:
// a TLS and a plaintext chain; STRICT: TLS only); a sidecar without one gets neither. All valid Envoy protos.
import { anyOf, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import { fromStruct } from '../common/struct.ts';
import type { Endpoint } from '../registry/endpoint.ts';
import type { PeerAuthenticationResource } from '../resources/types.ts';
import { mesh, service, sidecarParams } from './fixtures.ts';
import type { MeshIdentity } from './mesh-tls.ts';
import { translate } from './translate.ts';

type Obj = Record<string, unknown>;

const BUNDLE = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';

function endpoint(address: string, tls: boolean): Endpoint {
  return {
    service: 'web',
    address,
    port: 15006,
    labels: {},
    weight: 1,
    zone: '',
    source: address,
    ...(tls ? { tls } : {}),
  };
}

function translated(mode: MeshIdentity['mode'], mtls: boolean, peerAuthentications: PeerAuthenticationResource[] = []) {
  const state = {
    peerAuthentications,
    ...mesh({
      services: [
        service('web', { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] }),
        service('db', { ports: [{ name: 'tcp', port: 5432, protocol: 'TCP' }] }),
      ],
      endpoints: [endpoint('10.0.0.1', true), endpoint('10.0.0.2', false)],
    }),
    identity: { trustDomain: 'mesh.test', trustBundle: BUNDLE, mode },
  };
  const res = translate(state, 'sidecar', { ...sidecarParams('web'), ...(mtls ? { mtls: true } : {}) });
  for (const l of res.listener) anyOf(TYPE_URLS.listener, l);
  for (const c of res.cluster) anyOf(TYPE_URLS.cluster, c);
  for (const e of res.endpoint) anyOf(TYPE_URLS.endpoint, e);
  for (const x of res.secret) anyOf(TYPE_URLS.secret, x);
  return res;
}

const named = (list: Obj[], name: string): Obj => list.find((r) => r['name'] === name) as Obj;

describe('mesh mTLS translation', () => {
  it('marks endpoints whose proxy holds a certificate with tlsMode=mesh', () => {
    const cla = named(
      translated('permissive', true).endpoint.map((e) => ({ ...e, name: e['cluster_name'] })),
      'web|8080',
    );
    const eps = ((cla['endpoints'] as Obj[])[0]?.['lb_endpoints'] ?? []) as Obj[];
    const modes = eps.map((ep) => {
      const md = (ep['metadata'] as { filter_metadata: Record<string, unknown> } | undefined)?.filter_metadata;
      return md === undefined ? undefined : fromStruct(md['envoy.transport_socket_match'] as never);
    });
    expect(modes).to.deep.equal([{ tlsMode: 'mesh' }, undefined]);
  });

  it("a sidecar with a certificate: mTLS to mesh endpoints verifying the service's SPIFFE id, plaintext otherwise", () => {
    const web = named(translated('permissive', true).cluster, 'web|8080');
    const matches = web['transport_socket_matches'] as Obj[];
    expect(matches.map((m) => m['name'])).to.deep.equal(['mesh-mtls', 'plaintext']);
    const tls = ((matches[0] as Obj)['transport_socket'] as Obj)['typed_config'] as Obj;
    const common = tls['common_tls_context'] as Obj;
    expect(common['alpn_protocols']).to.deep.equal(['http/1.1']);
    expect(common['tls_certificate_sds_secret_configs']).to.deep.equal([{ name: 'default' }]);
    const combined = common['combined_validation_context'] as Obj;
    expect((combined['default_validation_context'] as Obj)['match_typed_subject_alt_names']).to.deep.equal([
      { san_type: 'URI', matcher: { exact: 'spiffe://mesh.test/ns/default/sa/web' } },
    ]);
    expect(combined['validation_context_sds_secret_config']).to.deep.equal({
      name: 'ROOTCA',
      sds_config: { ads: {}, resource_api_version: 'V3' },
    });
    expect(tls).to.not.have.property('sni');
    const db = named(translated('permissive', true).cluster, 'db|5432');
    const dbTls = (((db['transport_socket_matches'] as Obj[])[0] as Obj)['transport_socket'] as Obj)[
      'typed_config'
    ] as Obj;
    expect((dbTls['common_tls_context'] as Obj)['alpn_protocols']).to.equal(undefined);
  });

  it('PERMISSIVE inbound: a TLS chain requiring a mesh client certificate and a plaintext chain, by tls_inspector', () => {
    const inbound = named(translated('permissive', true).listener, 'inbound');
    expect((inbound['listener_filters'] as Obj[]).map((f) => f['name'])).to.deep.equal([
      'envoy.filters.listener.tls_inspector',
    ]);
    const chains = inbound['filter_chains'] as Obj[];
    expect(chains.map((c) => c['filter_chain_match'])).to.deep.equal([
      { transport_protocol: 'tls' },
      { transport_protocol: 'raw_buffer' },
    ]);
    // The same filters, but the TLS chain tells the app its caller's SPIFFE id (XFCC) and the plaintext one drops any.
    const hcmOf = (c: Obj | undefined) => (((c as Obj)['filters'] as Obj[])[0] as Obj)['typed_config'] as Obj;
    const { forward_client_cert_details, set_current_client_cert_details, ...tlsRest } = hcmOf(chains[0]);
    expect(forward_client_cert_details).to.equal('SANITIZE_SET');
    expect(set_current_client_cert_details).to.deep.equal({ uri: true });
    expect(tlsRest).to.deep.equal(hcmOf(chains[1]));
    expect(hcmOf(chains[1])).to.not.have.property('forward_client_cert_details');
    const down = ((chains[0] as Obj)['transport_socket'] as Obj)['typed_config'] as Obj;
    expect(down['require_client_certificate']).to.deep.equal({ value: true });
    const combined = (down['common_tls_context'] as Obj)['combined_validation_context'] as Obj;
    expect((combined['default_validation_context'] as Obj)['match_typed_subject_alt_names']).to.deep.equal([
      { san_type: 'URI', matcher: { prefix: 'spiffe://mesh.test/' } },
    ]);
    expect((combined['validation_context_sds_secret_config'] as Obj)['name']).to.equal('ROOTCA');
  });

  it('the trust bundle travels as the Secret ROOTCA (SDS over ADS), only to sidecars holding a certificate', () => {
    const [secret, ...more] = translated('permissive', true).secret;
    expect(more).to.deep.equal([]);
    expect((secret as Obj)['name']).to.equal('ROOTCA');
    const trusted = ((secret as Obj)['validation_context'] as Obj)['trusted_ca'] as Obj;
    expect(Buffer.from(String(trusted['inline_bytes']), 'base64').toString()).to.equal(BUNDLE);
    expect(translated('permissive', false).secret).to.deep.equal([]);
  });

  it('STRICT inbound: one TLS chain; a sidecar without a certificate gets no TLS at all', () => {
    const strict = named(translated('strict', true).listener, 'inbound');
    expect(strict['listener_filters']).to.equal(undefined);
    expect((strict['filter_chains'] as Obj[]).map((c) => Object.keys(c).sort())).to.deep.equal([
      ['filters', 'transport_socket'],
    ]);
    const plain = translated('strict', false);
    expect(named(plain.listener, 'inbound')['filter_chains']).to.have.length(1);
    expect((named(plain.listener, 'inbound')['filter_chains'] as Obj[])[0]).to.not.have.property('transport_socket');
    expect(named(plain.cluster, 'web|8080')).to.not.have.property('transport_socket_matches');
    // STRICT: every endpoint of the service is marked, also one whose proxy announced no certificate (a caller with
    // a certificate never sends plaintext to a STRICT service).
    const strictCla = translated('strict', true).endpoint.find((e) => e['cluster_name'] === 'web|8080') as Obj;
    const strictEps = ((strictCla['endpoints'] as Obj[])[0]?.['lb_endpoints'] ?? []) as Obj[];
    expect(strictEps.map((ep) => ep['metadata'] !== undefined)).to.deep.equal([true, true]);
  });

  it("a PeerAuthentication sets a service's mode over the mesh-wide one and the default; DISABLE drops TLS", () => {
    const pa = (name: string, service: string | undefined, mode: 'STRICT' | 'PERMISSIVE' | 'DISABLE') =>
      ({
        apiVersion: 'trellis.dev/v1',
        kind: 'PeerAuthentication',
        metadata: { name },
        spec: { ...(service === undefined ? {} : { selector: { service } }), mtls: { mode } },
      }) as PeerAuthenticationResource;
    const chainsOf = (res: ReturnType<typeof translated>) =>
      (named(res.listener, 'inbound')['filter_chains'] as Obj[]).map((c) => c['transport_socket'] !== undefined);
    // Mesh-wide STRICT over the default permissive.
    expect(chainsOf(translated('permissive', true, [pa('mesh', undefined, 'STRICT')]))).to.deep.equal([true]);
    // The service's own PERMISSIVE over the mesh-wide STRICT.
    expect(
      chainsOf(translated('permissive', true, [pa('mesh', undefined, 'STRICT'), pa('web', 'web', 'PERMISSIVE')])),
    ).to.deep.equal([true, false]);
    // DISABLE: a plaintext inbound, and web's endpoints are not marked for mTLS (callers must not try it).
    const disabled = translated('strict', true, [pa('web', 'web', 'DISABLE')]);
    expect(chainsOf(disabled)).to.deep.equal([false]);
    const cla = disabled.endpoint.find((e) => e['cluster_name'] === 'web|8080') as Obj;
    const eps = ((cla['endpoints'] as Obj[])[0]?.['lb_endpoints'] ?? []) as Obj[];
    expect(eps.map((ep) => ep['metadata'])).to.deep.equal([undefined, undefined]);
  });
});
