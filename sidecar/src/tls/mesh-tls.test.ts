// Who the inbound TLS side accepts: no certificate only when none is required; a presented certificate only when it
// verified against the trust bundle and carries an accepted SPIFFE id (tls.Server lets unverified ones through when
// client certificates are optional).
import { webcrypto, X509Certificate } from 'node:crypto';
import { type KeyPair, x509 } from '@trellis/identity/x509';
import { expect } from 'chai';
import type { DownstreamTlsConfig } from '../config/model.ts';
import { peerAccepted, sanMatches, uriSans } from './mesh-tls.ts';

async function certWith(uri: string): Promise<X509Certificate> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as unknown as KeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=peer',
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }])],
  });
  return new X509Certificate(cert.toString('pem'));
}

const config = (requireClientCertificate: boolean): DownstreamTlsConfig => ({
  alpn: [],
  minVersion: 'TLSv1.3',
  trust: { inline: '' },
  sans: [{ prefix: 'spiffe://mesh.test/' }],
  requireClientCertificate,
});

describe('mesh TLS peer checks', () => {
  it('accepts a verified certificate with an identity of the trust domain, nothing unverified or foreign', async () => {
    const mesh = await certWith('spiffe://mesh.test/ns/default/sa/web');
    const foreign = await certWith('spiffe://other.test/ns/default/sa/web');
    expect(peerAccepted(mesh, true, config(true))).to.equal(true);
    expect(peerAccepted(mesh, false, config(true))).to.equal(false);
    // Optional client certificates: none is fine, an unverified one is not (as Envoy refuses a presented bad one).
    expect(peerAccepted(undefined, false, config(false))).to.equal(true);
    expect(peerAccepted(mesh, false, config(false))).to.equal(false);
    expect(peerAccepted(undefined, false, config(true))).to.equal(false);
    expect(peerAccepted(foreign, true, config(true))).to.equal(false);
  });

  it('matches URI SANs exactly or by prefix', () => {
    expect(uriSans('URI:spiffe://a/ns/x/sa/y, DNS:web')).to.deep.equal(['spiffe://a/ns/x/sa/y']);
    expect(sanMatches(['spiffe://a/ns/x/sa/y'], [{ exact: 'spiffe://a/ns/x/sa/y' }])).to.equal(true);
    expect(sanMatches(['spiffe://a/ns/x/sa/yy'], [{ exact: 'spiffe://a/ns/x/sa/y' }])).to.equal(false);
    expect(sanMatches([], [])).to.equal(true);
  });
});
