// The mesh CA over real gRPC: a join token from the operator API (as `trellisctl token create` asks for it) buys one
// certificate for the token's identity only; a renewal proves the certificate held; everything else is refused with
// UNAUTHENTICATED and a reason, and the data dir keeps the root and the token key across restarts.
import { createPrivateKey, sign, webcrypto, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import { type CertificateResponse, CertificateServiceClient, CONTROL_PLANE_TLS_NAME } from '@trellis/identity';
import { type KeyPair, x509 } from '@trellis/identity/x509';
import { expect } from 'chai';
import { pino } from 'pino';
import { AdminClient } from '../api/client.ts';
import { ControlPlane } from '../control-plane.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { RENEW_CERT_HEADER, RENEW_SIGNATURE_HEADER } from './certificate-service.ts';
import { ROOT_CERT_FILE } from './mesh-ca.ts';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

/** A fresh key and its CSR (asking for a SAN the CA must ignore); the key as PEM for a renewal's signature. */
async function keyAndCsr(): Promise<{ csr: string; keyPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as unknown as KeyPair;
  const req = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: EC,
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'spiffe://cluster.local/ns/x/sa/admin' }]),
    ],
  });
  const pkcs8 = Buffer.from(
    await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey),
  );
  const keyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({
    type: 'pkcs8',
    format: 'pem',
  });
  return { csr: req.toString('pem'), keyPem: String(keyPem) };
}

type Outcome = { chain: string[] } | { code: number; details: string };

/** The generic client's method, typed. */
interface CreateCertificate {
  CreateCertificate(
    req: { csr: string; validityDuration: number },
    md: Metadata,
    cb: (err: { code: number; details: string } | null, res?: CertificateResponse) => void,
  ): void;
}

describe('mesh CA certificate service (xDS port, real gRPC)', () => {
  let dir: string;
  let cp: ControlPlane;
  let ca: InstanceType<typeof CertificateServiceClient>;
  let admin: AdminClient;

  async function start(): Promise<void> {
    cp = await ControlPlane.start({
      store: new MemoryStore(),
      logger: pino({ level: 'silent' }),
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      apiHost: '127.0.0.1',
      apiPort: 0,
      endpointGraceMs: 0,
      dataDir: dir,
      identity: { trustDomain: 'mesh.test' },
    });
    // TLS to the xDS port, trusting the mesh root and checking the control plane's SPIFFE id.
    const root = readFileSync(path.join(dir, ROOT_CERT_FILE));
    ca = new CertificateServiceClient(
      `127.0.0.1:${cp.xdsPort}`,
      credentials.createSsl(root, null, null, {
        checkServerIdentity: (_host, cert) =>
          cert.subjectaltname === 'URI:spiffe://mesh.test/ns/trellis-system/sa/control-plane'
            ? undefined
            : new Error(`unexpected server identity ${cert.subjectaltname}`),
      }),
      { 'grpc.ssl_target_name_override': CONTROL_PLANE_TLS_NAME },
    );
    admin = new AdminClient(`127.0.0.1:${cp.apiPort}`, { timeoutMs: 5000 });
  }
  async function stop(): Promise<void> {
    ca.close();
    admin.close();
    await cp.stop(0);
  }

  function request(csr: string, md: Metadata, validityDuration = 0): Promise<Outcome> {
    return new Promise((resolve) => {
      (ca as unknown as CreateCertificate).CreateCertificate({ csr, validityDuration }, md, (err, res) =>
        resolve(err ? { code: err.code, details: err.details } : { chain: res?.certChain ?? [] }),
      );
    });
  }

  const bearer = (token: string): Metadata => {
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    return md;
  };

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'trellis-ca-svc-'));
    await start();
  });
  afterEach(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a join token buys a certificate for the token's identity, whatever the CSR asks", async () => {
    const token = await admin.createJoinToken({ service: 'web', namespace: 'shop', ttl_seconds: 600 });
    expect(token.spiffe_id).to.equal('spiffe://mesh.test/ns/shop/sa/web');
    const { csr } = await keyAndCsr();
    const out = await request(csr, bearer(token.token), 3600);
    if (!('chain' in out)) throw new Error(out.details);
    const leaf = new X509Certificate(out.chain[0] as string);
    expect(leaf.subjectAltName).to.equal('URI:spiffe://mesh.test/ns/shop/sa/web');
    expect(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)).to.equal(3600_000 + 60_000);
  });

  it('refuses no credentials, a forged or foreign token, and names why', async () => {
    const { csr } = await keyAndCsr();
    const none = await request(csr, new Metadata());
    expect(none).to.deep.include({ code: status.UNAUTHENTICATED });
    expect((none as { details: string }).details).to.match(/^no credentials: send a join token/);
    const token = (await admin.createJoinToken({ service: 'web', ttl_seconds: 1 })).token;
    const forged = `${token.slice(0, -4)}AAAA`;
    expect(await request(csr, bearer(forged))).to.deep.equal({
      code: status.UNAUTHENTICATED,
      details: 'join token signature is invalid',
    });
    expect(await request(csr, bearer('hello'))).to.deep.equal({
      code: status.UNAUTHENTICATED,
      details: 'not a Trellis join token',
    });
    const bad = await admin
      .createJoinToken({ service: 'no/slash' })
      .catch((err: { code: number; details: string }) => err);
    expect(bad).to.deep.include({ code: status.INVALID_ARGUMENT });
    expect((bad as { details: string }).details).to.match(/^service: expected a service name/);
  });

  it('a renewal proves the certificate held: the same identity, for a new key; a stranger key is refused', async () => {
    const token = (await admin.createJoinToken({ service: 'orders' })).token;
    const first = await keyAndCsr();
    const issued = await request(first.csr, bearer(token));
    if (!('chain' in issued)) throw new Error(issued.details);
    const held = new X509Certificate(issued.chain[0] as string);
    const next = await keyAndCsr();
    const renewal = (signingKey: string): Metadata => {
      const md = new Metadata();
      md.set(RENEW_CERT_HEADER, held.raw.toString('base64'));
      md.set(RENEW_SIGNATURE_HEADER, sign('sha256', Buffer.from(next.csr), signingKey).toString('base64'));
      return md;
    };
    const renewed = await request(next.csr, renewal(first.keyPem));
    if (!('chain' in renewed)) throw new Error(renewed.details);
    expect(new X509Certificate(renewed.chain[0] as string).subjectAltName).to.equal(
      'URI:spiffe://mesh.test/ns/default/sa/orders',
    );
    // Signed by another key than the held certificate's: no renewal.
    expect(await request(next.csr, renewal(next.keyPem))).to.deep.equal({
      code: status.UNAUTHENTICATED,
      details: `${RENEW_SIGNATURE_HEADER}: the CSR is not signed by the held key`,
    });
  });

  it('keeps its root and its token key in the data dir across a restart', async () => {
    const token = (await admin.createJoinToken({ service: 'web' })).token;
    const before = await request((await keyAndCsr()).csr, bearer(token));
    await stop();
    await start();
    const after = await request((await keyAndCsr()).csr, bearer(token));
    if (!('chain' in before) || !('chain' in after)) throw new Error('not issued');
    // The token issued before the restart still admits (the key was kept), and both certificates verify with the
    // one root in the data dir.
    const root = new X509Certificate(readFileSync(path.join(dir, ROOT_CERT_FILE)));
    for (const pem of [before.chain[0], after.chain[0]])
      expect(new X509Certificate(pem as string).verify(root.publicKey)).to.equal(true);
  });
});
