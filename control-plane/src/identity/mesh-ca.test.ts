// The mesh CA: a root generated once and kept (key 0600), a plug-in intermediate, and workload certificates that
// carry only the CA's choice of identity and lifetime, verified with node:crypto (not the library that made them).
import { generateKeyPairSync, X509Certificate as NodeX509, webcrypto } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type KeyPair, x509 } from '@trellis/identity/x509';
import { expect } from 'chai';
import { MeshCa, PLUGIN_FILES, ROOT_CERT_FILE, ROOT_KEY_FILE } from './mesh-ca.ts';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const WEB = { trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'web' };

/** A CSR for a fresh P-256 key, asking for an identity the CA must not take from it. */
async function csr(): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const req = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=admin',
    keys: keys as unknown as KeyPair,
    signingAlgorithm: EC,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'spiffe://evil/ns/x/sa/admin' }])],
  });
  return req.toString('pem');
}

function pem(der: ArrayBuffer, label: string): string {
  return `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64')}\n-----END ${label}-----\n`;
}

/** A root and an intermediate under it, as an operator would bring them (Istio's cacerts files). */
async function pluginDir(dir: string): Promise<{ root: string; intermediate: string }> {
  const rootKeys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=Corp root',
    keys: rootKeys as unknown as KeyPair,
    signingAlgorithm: EC,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const interKeys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const inter = await x509.X509CertificateGenerator.create({
    subject: 'CN=Mesh intermediate',
    issuer: root.subjectName,
    publicKey: interKeys.publicKey as unknown as CryptoKey,
    signingKey: rootKeys.privateKey as unknown as CryptoKey,
    signingAlgorithm: EC,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, PLUGIN_FILES.root), root.toString('pem'));
  writeFileSync(path.join(dir, PLUGIN_FILES.cert), inter.toString('pem'));
  writeFileSync(path.join(dir, PLUGIN_FILES.chain), `${inter.toString('pem')}\n${root.toString('pem')}\n`);
  const key = await webcrypto.subtle.exportKey('pkcs8', interKeys.privateKey);
  writeFileSync(path.join(dir, PLUGIN_FILES.key), pem(key, 'PRIVATE KEY'), { mode: 0o600 });
  return { root: root.toString('pem'), intermediate: inter.toString('pem') };
}

describe('mesh CA', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'trellis-ca-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('generates a root on first start, keeps its key 0600, and reuses it on the next', async () => {
    const first = await MeshCa.open({ trustDomain: 'cluster.local', dataDir: dir });
    expect(statSync(path.join(dir, ROOT_KEY_FILE)).mode & 0o777).to.equal(0o600);
    const root = new NodeX509(readFileSync(path.join(dir, ROOT_CERT_FILE), 'utf8'));
    expect(root.ca).to.equal(true);
    expect(root.subject).to.include('O=cluster.local');
    const second = await MeshCa.open({ trustDomain: 'cluster.local', dataDir: dir });
    expect(second.trustBundle).to.deep.equal(first.trustBundle);
    // A certificate from the first verifies under the second's bundle: the same root.
    const issued = await first.sign(await csr(), WEB, 0);
    const leaf = new NodeX509(issued.chain[0] as string);
    expect(leaf.verify(new NodeX509(second.trustBundle[0] as string).publicKey)).to.equal(true);
  });

  it('refuses a root key others can read, naming the file and the fix', async () => {
    await MeshCa.open({ trustDomain: 'cluster.local', dataDir: dir });
    const keyFile = path.join(dir, ROOT_KEY_FILE);
    chmodSync(keyFile, 0o644);
    let message = '';
    await MeshCa.open({ trustDomain: 'cluster.local', dataDir: dir }).catch((err: Error) => {
      message = err.message;
    });
    expect(message).to.equal(`${keyFile} is readable by others (mode 644): chmod 600 ${keyFile}`);
  });

  it("signs a CSR with the CA's identity and lifetime, never the CSR's", async () => {
    let now = Date.parse('2026-12-07T12:00:00Z');
    const ca = await MeshCa.open({ trustDomain: 'cluster.local', now: () => now });
    const issued = await ca.sign(await csr(), WEB, 3600);
    expect(issued.spiffeId).to.equal('spiffe://cluster.local/ns/shop/sa/web');
    expect(issued.chain).to.have.length(1);
    const leaf = new NodeX509(issued.chain[0] as string);
    expect(leaf.subjectAltName).to.equal('URI:spiffe://cluster.local/ns/shop/sa/web');
    expect(leaf.ca).to.equal(false);
    expect(leaf.keyUsage).to.have.members(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(leaf.verify(new NodeX509(ca.trustBundle[0] as string).publicKey)).to.equal(true);
    expect(Date.parse(leaf.validTo) - now).to.equal(3600_000);
    expect(now - Date.parse(leaf.validFrom)).to.equal(60_000);
    // Lifetimes: the default (24 h), the maximum (90 days), the minimum (1 minute).
    now += 1000;
    const byDefault = new NodeX509((await ca.sign(await csr(), WEB, 0)).chain[0] as string);
    expect(Date.parse(byDefault.validTo) - now).to.equal(24 * 3600_000);
    const long = new NodeX509((await ca.sign(await csr(), WEB, 400 * 24 * 3600)).chain[0] as string);
    expect(Date.parse(long.validTo) - now).to.equal(90 * 24 * 3600_000);
    const short = new NodeX509((await ca.sign(await csr(), WEB, 1)).chain[0] as string);
    expect(Date.parse(short.validTo) - now).to.equal(60_000);
  });

  it('refuses a CSR whose signature does not verify, garbage, and another trust domain', async () => {
    const ca = await MeshCa.open({ trustDomain: 'cluster.local' });
    const good = await csr();
    const b64 = good.split('\n').slice(1, -2).join('');
    const bytes = Buffer.from(b64, 'base64');
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] as number) ^ 0xff;
    const tampered = pem(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length), 'CERTIFICATE REQUEST');
    const failures: string[] = [];
    for (const [pemText, id] of [
      [tampered, WEB],
      ['not a csr', WEB],
      [good, { ...WEB, trustDomain: 'other.domain' }],
    ] as const) {
      await ca.sign(pemText, id, 0).catch((err: Error) => failures.push(err.message));
    }
    expect(failures).to.have.length(3);
    expect(failures[1]).to.equal('csr: not a PEM PKCS#10 certificate request');
    expect(failures[2]).to.equal("identity is in trust domain other.domain, the CA's is cluster.local");
  });

  it('a plug-in intermediate signs; the chain goes with the leaf and verifies to the operator root', async () => {
    const files = await pluginDir(path.join(dir, 'cacerts'));
    const ca = await MeshCa.open({ trustDomain: 'corp.example', pluginDir: path.join(dir, 'cacerts'), dataDir: dir });
    expect(ca.trustBundle).to.deep.equal([files.root.trim()]);
    const issued = await ca.sign(await csr(), { ...WEB, trustDomain: 'corp.example' }, 600);
    expect(issued.chain).to.have.length(2);
    const [leaf, inter] = issued.chain.map((p) => new NodeX509(p)) as [NodeX509, NodeX509];
    const root = new NodeX509(files.root);
    expect(inter.fingerprint256).to.equal(new NodeX509(files.intermediate).fingerprint256);
    expect(leaf.checkIssued(inter) && leaf.verify(inter.publicKey)).to.equal(true);
    expect(inter.checkIssued(root) && inter.verify(root.publicKey)).to.equal(true);
    // No root was generated in the data dir: the plug-in is the CA.
    expect(() => statSync(path.join(dir, ROOT_KEY_FILE))).to.throw();
  });

  it("refuses a plug-in whose key is not its certificate's, or whose certificate does not chain to the root", async () => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    await pluginDir(a);
    await pluginDir(b);
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    writeFileSync(path.join(a, PLUGIN_FILES.key), other, { mode: 0o600 });
    const wrongKey = await MeshCa.open({ trustDomain: 'x', pluginDir: a }).catch((err: Error) => err.message);
    expect(wrongKey).to.equal(`${path.join(a, PLUGIN_FILES.key)} is not the key of the CA certificate beside it`);
    writeFileSync(path.join(b, PLUGIN_FILES.root), readFileSync(path.join(a, PLUGIN_FILES.root)));
    writeFileSync(path.join(b, PLUGIN_FILES.chain), readFileSync(path.join(b, PLUGIN_FILES.cert)));
    const unanchored = await MeshCa.open({ trustDomain: 'x', pluginDir: b }).catch((err: Error) => err.message);
    expect(unanchored).to.equal('plug-in CA: ca-cert.pem (with cert-chain.pem) does not chain to root-cert.pem');
  });
});
