// Root rotation with overlapping trust bundles, as docs/security.md's runbook does it, under a bounded load: the mesh
// trusts the old root R1 alone, then R1 and the new root R2, then signs under R2, then trusts R2 alone. Every step is a
// control-plane restart on plug-in CA files; sidecars follow (their trust in the control plane grows with the bundle
// it sends them), certificates rotate, and no request fails. A certificate of the old root is refused at the end. The
// bundle travels over SDS: adding a root changes the Secret ROOTCA only, no cluster or listener.
import { webcrypto } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { type KeyPair, x509 } from '@trellis/identity/x509';
import { expect } from 'chai';
import { PLUGIN_FILES } from '../control-plane/src/identity/mesh-ca.ts';
import { eventually } from './helpers/eventually.ts';
import { closeHttpClients, viaProxy } from './helpers/http-client.ts';
import { type Mesh, startMesh } from './helpers/mesh.ts';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

function pem(der: ArrayBuffer, label: string): string {
  return `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64')}\n-----END ${label}-----\n`;
}

interface Ca {
  cert: string;
  keyPem: string;
  keys: KeyPair;
  name: string;
}

async function root(name: string): Promise<Ca> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as unknown as KeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    keys,
    signingAlgorithm: EC,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 30 * 24 * 3600_000),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const key = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  return { cert: cert.toString('pem'), keyPem: pem(key, 'PRIVATE KEY'), keys, name };
}

async function intermediate(parent: Ca, name: string): Promise<Ca> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as unknown as KeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${name}`,
    issuer: new x509.X509Certificate(parent.cert).subjectName,
    publicKey: keys.publicKey,
    signingKey: parent.keys.privateKey,
    signingAlgorithm: EC,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 30 * 24 * 3600_000),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const key = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  return { cert: cert.toString('pem'), keyPem: pem(key, 'PRIVATE KEY'), keys, name };
}

/** Istio's cacerts layout: the signing intermediate, its key, its chain, and the roots workloads trust. */
function cacerts(dir: string, signer: Ca, parent: Ca, roots: Ca[]): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, PLUGIN_FILES.cert), signer.cert);
  writeFileSync(path.join(dir, PLUGIN_FILES.key), signer.keyPem, { mode: 0o600 });
  writeFileSync(path.join(dir, PLUGIN_FILES.chain), `${signer.cert}\n${parent.cert}`);
  writeFileSync(path.join(dir, PLUGIN_FILES.root), roots.map((r) => r.cert).join('\n'));
  return dir;
}

describe('mesh CA root rotation with overlapping trust bundles (end to end, under load)', function () {
  this.timeout(240_000);
  let mesh: Mesh;
  const dirs: Record<'old' | 'both' | 'signNew' | 'new', string> = { old: '', both: '', signNew: '', new: '' };

  before(async () => {
    const r1 = await root('Root 1');
    const r2 = await root('Root 2');
    const i1 = await intermediate(r1, 'Mesh intermediate 1');
    const i2 = await intermediate(r2, 'Mesh intermediate 2');
    const base = path.join(process.env['TMPDIR'] ?? '/tmp', `trellis-rotation-${process.pid}`);
    dirs.old = cacerts(path.join(base, 'old'), i1, r1, [r1]);
    dirs.both = cacerts(path.join(base, 'both'), i1, r1, [r1, r2]);
    dirs.signNew = cacerts(path.join(base, 'sign-new'), i2, r2, [r1, r2]);
    dirs.new = cacerts(path.join(base, 'new'), i2, r2, [r2]);
    // Four-second certificates: each sidecar rotates about every two seconds.
    mesh = await startMesh({
      mtls: true,
      cpArgs: ['--ca-dir', dirs.old, '--min-workload-cert-ttl', '1s'],
      sidecarArgs: ['--workload-cert-ttl', '4s'],
    });
    await eventually(async () => expect((await get('/')).status).to.equal(200), 200);
  });
  after(async () => {
    closeHttpClients();
    await mesh?.stop();
  });

  const get = (p: string) => viaProxy(mesh.sidecars.client.outboundPort, `http://web:8080${p}`);

  const rotations = async (sidecar: keyof Mesh['sidecars']): Promise<number> => {
    const text = await (await mesh.sidecars[sidecar].admin('/stats')).text();
    return Number(/^tls\.workload_cert\.rotations: (\d+)$/m.exec(text)?.[1] ?? 0);
  };

  /** The version of each resource the client sidecar holds (by type and name), and the roots its ROOTCA holds. */
  const held = async (): Promise<{ versions: Map<string, string>; roots: number }> => {
    type Resource = { name: string; version: string; resource: { validation_context?: { trusted_ca?: object } } };
    const { xds: dump } = (await (await mesh.sidecars.client.admin('/config_dump')).json()) as {
      xds: { types: { typeUrl: string; resources: Resource[] }[] };
    };
    const versions = new Map<string, string>();
    let roots = 0;
    for (const t of dump.types) {
      for (const r of t.resources) {
        versions.set(`${t.typeUrl.slice(t.typeUrl.lastIndexOf('.') + 1)} ${r.name}`, r.version);
        // The admin dump gives bytes as base64.
        const bytes = (r.resource.validation_context?.trusted_ca as { inline_bytes?: string } | undefined)
          ?.inline_bytes;
        if (r.name === 'ROOTCA' && bytes !== undefined)
          roots = Buffer.from(bytes, 'base64').toString().split('BEGIN CERTIFICATE').length - 1;
      }
    }
    return { versions, roots };
  };

  /** Restarts the control plane on `dir`, then waits until every sidecar is back and has rotated `n` times since. */
  async function step(dir: string, n: number): Promise<void> {
    const names = Object.keys(mesh.sidecars) as (keyof Mesh['sidecars'])[];
    await mesh.restartControlPlane(['--ca-dir', dir]);
    const start = await Promise.all(names.map(rotations));
    await eventually(
      async () => {
        const status = await mesh.ctl(['proxy-status', '-o', 'json']);
        expect((JSON.parse(status.stdout) as { proxies: unknown[] }).proxies).to.have.length(5);
        const now = await Promise.all(names.map(rotations));
        for (const [i, name] of names.entries())
          expect((now[i] as number) - (start[i] as number), `${name} rotations`).to.be.at.least(n);
      },
      400,
      100,
    );
  }

  it('R1 → R1+R2 → signing under R2 → R2 alone: zero failed requests; then an R1 certificate is refused', async () => {
    // A certificate of the old root, kept to try at the end (as a workload that missed the rotation would hold).
    const { keyPem, chain: stale } = await mesh.workloadCertificate('client', 3600);

    let running = true;
    const failures: string[] = [];
    let served = 0;
    const load = Promise.all(
      Array.from({ length: 2 }, async () => {
        while (running) {
          const r = await get('/rotating').catch((err: Error) => ({ status: 0, body: err.message }));
          if (r.status === 200) served++;
          else failures.push(`${r.status} ${r.body}`);
        }
      }),
    );
    try {
      const before = await held();
      expect(before.roots).to.equal(1);
      await step(dirs.both, 1); // trust R1 and R2; still signed under R1
      // Only the Secret changed, no cluster, listener or route (versions are content hashes: they survive the restart).
      const after = await held();
      expect(after.roots).to.equal(2);
      const changed = [...after.versions]
        .filter(([k, v]) => before.versions.get(k) !== v && !k.startsWith('ClusterLoadAssignment '))
        .map(([k]) => k);
      expect(changed).to.deep.equal(['Secret ROOTCA']);
      await step(dirs.signNew, 2); // signed under R2 (every certificate replaced), both still trusted
      await step(dirs.new, 1); // R2 alone
    } finally {
      running = false;
      await load;
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
    expect(served).to.be.at.least(20);

    // web's inbound refuses the R1 certificate now, and takes the mesh's current ones (the load just proved it).
    const handshake = await new Promise<string>((resolve) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port: mesh.sidecars.webV1.inboundPort,
        key: keyPem,
        cert: stale.join('\n'),
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      });
      socket.once('secureConnect', () => {
        // TLS 1.3: a refused client certificate surfaces as an alert after the handshake.
        socket.write('GET / HTTP/1.1\r\nhost: web\r\n\r\n');
      });
      socket.once('data', () => resolve('accepted'));
      socket.once('error', (err) => resolve(`refused: ${err.message}`));
      socket.once('close', () => resolve('refused: closed'));
    });
    expect(handshake).to.match(/^refused/);
  });
});
