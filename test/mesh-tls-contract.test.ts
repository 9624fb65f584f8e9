// The mesh mTLS contract between the two sides: what the control plane translates for a sidecar holding a workload
// certificate, through protobuf and back, is what the sidecar's decoders read (TLS per endpoint, the listener's mode,
// the trust bundle secret).
import { anyOf, decodeAny, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import type { Endpoint } from '../control-plane/src/registry/endpoint.ts';
import { mesh, service, sidecarParams } from '../control-plane/src/translator/fixtures.ts';
import { translate } from '../control-plane/src/translator/translate.ts';
import { decodeCluster } from '../sidecar/src/config/decode-cluster.ts';
import { decodeClusterLoadAssignment } from '../sidecar/src/config/decode-endpoint.ts';
import { decodeListener } from '../sidecar/src/config/decode-listener.ts';
import { decodeSecret } from '../sidecar/src/config/decode-secret.ts';
import type { Decoded } from '../sidecar/src/config/decode-values.ts';
import { upstreamTls } from '../sidecar/src/upstream/dialer.ts';

const BUNDLE = '-----BEGIN CERTIFICATE-----\nMIIBroot\n-----END CERTIFICATE-----\n';

function roundTrip<T>(
  typeUrl: string,
  object: Record<string, unknown>,
  decode: (o: never, v: string) => Decoded<T>,
): T {
  const decoded = decode(decodeAny(anyOf(typeUrl, object)) as never, '1');
  if ('error' in decoded) throw new Error(decoded.error);
  return decoded.value;
}

describe('mesh mTLS: control plane output as the sidecar reads it', () => {
  const ep = (address: string, tls: boolean): Endpoint => ({
    service: 'web',
    address,
    port: 15006,
    labels: {},
    weight: 1,
    zone: '',
    source: address,
    ...(tls ? { tls } : {}),
  });
  const state = {
    ...mesh({
      services: [service('web', { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] })],
      endpoints: [ep('10.0.0.1', true), ep('10.0.0.2', false)],
    }),
    identity: { trustDomain: 'mesh.test', trustBundle: BUNDLE, mode: 'permissive' as const },
  };
  const res = translate(state, 'sidecar', { ...sidecarParams('web'), mtls: true });

  it('the inbound listener: permissive, a TLS context requiring a mesh client certificate', () => {
    const inbound = res.listener.find((l) => l['name'] === 'inbound') as Record<string, unknown>;
    const listener = roundTrip(TYPE_URLS.listener, inbound, decodeListener);
    expect(listener?.tls?.mode).to.equal('permissive');
    expect(listener?.tls?.context).to.deep.include({
      alpn: ['h2', 'http/1.1'],
      minVersion: 'TLSv1.3',
      requireClientCertificate: true,
      sans: [{ prefix: 'spiffe://mesh.test/' }],
    });
    expect(listener?.tls?.context.trust).to.deep.equal({ secret: 'ROOTCA' });
    expect(listener?.filter.type).to.equal('http');
  });

  it("the cluster: mTLS verifying web's SPIFFE id to the mesh endpoint, plaintext to the other", () => {
    const cluster = roundTrip(
      TYPE_URLS.cluster,
      res.cluster.find((c) => c['name'] === 'web|8080') as Record<string, unknown>,
      decodeCluster,
    );
    const cla = roundTrip(
      TYPE_URLS.endpoint,
      res.endpoint.find((e) => e['cluster_name'] === 'web|8080') as Record<string, unknown>,
      decodeClusterLoadAssignment,
    );
    const endpoints = cla.localities.flatMap((l) => l.endpoints);
    const tlsOf = (address: string) =>
      upstreamTls(
        { config: cluster } as never,
        {
          transportMatch: endpoints.find((e) => e.address === address)?.transportMatch,
        } as never,
      );
    expect(tlsOf('10.0.0.1')).to.deep.include({
      alpn: ['http/1.1'],
      sans: [{ exact: 'spiffe://mesh.test/ns/default/sa/web' }],
      trust: { secret: 'ROOTCA' },
    });
    expect(tlsOf('10.0.0.2')).to.equal(undefined);
  });

  it('the trust bundle: the Secret ROOTCA, read over SDS', () => {
    const [secret] = res.secret;
    expect(roundTrip(TYPE_URLS.secret, secret as Record<string, unknown>, decodeSecret)).to.deep.equal({
      name: 'ROOTCA',
      trustedCa: BUNDLE,
    });
  });
});
