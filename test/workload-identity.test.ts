// The sidecar's workload identity against a real control plane: the first certificate with a join token, rotations
// at half-life proved by the certificate held (each a new key, the same SPIFFE id), and a bad token retried, never
// issued.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { controlPlaneSpiffeId, type JoinTokenHints, joinTokenHints } from '@trellis/identity';
import { expect } from 'chai';
import { pino } from 'pino';
import { AdminClient } from '../control-plane/src/api/client.ts';
import { ControlPlane } from '../control-plane/src/control-plane.ts';
import { MeshCa, PLUGIN_FILES, ROOT_CERT_FILE, ROOT_KEY_FILE } from '../control-plane/src/identity/mesh-ca.ts';
import { MemoryStore } from '../control-plane/src/store/memory-store.ts';
import { Stats } from '../sidecar/src/common/stats.ts';
import { bootstrapCredentials, discoverControlPlaneTrust } from '../sidecar/src/tls/control-plane-trust.ts';
import { type WorkloadCertificate, WorkloadIdentity } from '../sidecar/src/tls/workload-identity.ts';
import { startDaemon } from './helpers/processes.ts';
import { SIDECAR_BIN, startSidecar } from './helpers/sidecar.ts';

describe('sidecar workload identity (real control plane CA)', function () {
  this.timeout(30_000);
  let cp: ControlPlane;
  let admin: AdminClient;
  /** TLS to the control plane, trusting the root a join token pins. */
  let credentials: ChannelCredentials;
  const agents: WorkloadIdentity[] = [];

  before(async () => {
    cp = await ControlPlane.start({
      store: new MemoryStore(),
      logger: pino({ level: 'silent' }),
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      apiHost: '127.0.0.1',
      apiPort: 0,
      endpointGraceMs: 0,
      // Two-second certificates: a rotation about every second (the CLI's minimum is one minute).
      identity: { trustDomain: 'mesh.test', workloadTtlMs: 2000, minWorkloadTtlMs: 1000 },
    });
    admin = new AdminClient(`127.0.0.1:${cp.apiPort}`, { timeoutMs: 5000 });
    const { token } = await admin.createJoinToken({ service: 'probe' });
    const trust = await discoverControlPlaneTrust([`127.0.0.1:${cp.xdsPort}`], joinTokenHints(token) as JoinTokenHints);
    credentials = bootstrapCredentials(trust);
  });
  after(async () => {
    for (const a of agents) a.stop();
    admin.close();
    await cp.stop(0);
  });

  function agent(token: string, stats = new Stats()): WorkloadIdentity {
    const a = new WorkloadIdentity({
      addresses: [`127.0.0.1:${cp.xdsPort}`],
      credentials,
      token,
      service: 'web',
      stats,
      logger: pino({ level: 'silent' }),
    });
    agents.push(a);
    return a;
  }

  it('gets a certificate with the join token, then rotates at half-life with the certificate held', async () => {
    const { token } = await admin.createJoinToken({ service: 'web', namespace: 'shop', ttl_seconds: 600 });
    const stats = new Stats();
    const identity = agent(token, stats);
    const seen: WorkloadCertificate[] = [];
    const twoRotations = new Promise<void>((resolve) =>
      identity.onChange((cert) => {
        seen.push(cert);
        if (seen.length === 3) resolve();
      }),
    );
    const first = await identity.start();
    expect(first.spiffeId).to.equal('spiffe://mesh.test/ns/shop/sa/web');
    await twoRotations;
    identity.stop();
    expect(seen.map((c) => c.spiffeId)).to.deep.equal(Array(3).fill('spiffe://mesh.test/ns/shop/sa/web'));
    // Each rotation is a new key with its own certificate, and the key matches it.
    expect(new Set(seen.map((c) => c.keyPem)).size).to.equal(3);
    for (const c of seen) {
      const leaf = new X509Certificate(c.chainPem[0] as string);
      expect(leaf.checkPrivateKey(createPrivateKey(c.keyPem))).to.equal(true);
    }
    // The next began before the previous expired (no gap for connections to fall into).
    for (let i = 1; i < seen.length; i++)
      expect((seen[i] as WorkloadCertificate).notBefore).to.be.below((seen[i - 1] as WorkloadCertificate).notAfter);
    expect(stats.counter('tls.workload_cert.rotations')).to.be.at.least(2);
    const metrics = await cp.telemetry.metrics.render();
    expect(metrics).to.match(/trellis_cp_certificate_requests_total\{result="issued",credential="token"\} 1\b/);
    expect(metrics).to.match(/trellis_cp_certificate_requests_total\{result="issued",credential="renewal"\} [2-9]/);
  });

  it('a bad token is refused: failures counted, retried, no certificate', async () => {
    const stats = new Stats();
    const identity = agent('trellis-join.v1.e30.AAAA', stats);
    void identity.start();
    const deadline = Date.now() + 10_000;
    while (stats.counter('tls.workload_cert.failures') < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    identity.stop();
    expect(stats.counter('tls.workload_cert.failures')).to.be.at.least(2);
    expect(identity.current).to.equal(undefined);
  });

  it('a sidecar started with --join-token shows its certificate on /certs, and never its key', async () => {
    const { token } = await admin.createJoinToken({ service: 'orders', ttl_seconds: 600 });
    const sidecar = await startSidecar({
      service: 'orders',
      xds: `127.0.0.1:${cp.xdsPort}`,
      extraArgs: ['--join-token', token, '--workload-cert-ttl', '1h'],
    });
    try {
      const issued = await sidecar.daemon.waitForLog((l) => l['msg'] === 'workload certificate issued', 20_000);
      expect(issued['spiffeId']).to.equal('spiffe://mesh.test/ns/default/sa/orders');
      const body = await (await sidecar.admin('/certs')).text();
      expect(body).to.not.include('PRIVATE KEY');
      const certs = (JSON.parse(body) as { certificates: Record<string, unknown>[] }).certificates;
      expect(certs).to.have.length(1);
      expect(certs[0]).to.deep.include({ spiffe_id: 'spiffe://mesh.test/ns/default/sa/orders', chain_length: 1 });
      expect(certs[0]?.['seconds_until_expiration']).to.be.within(3500, 3600);
    } finally {
      await sidecar.stop();
    }
  });

  it('a sidecar whose first certificate request is refused stays up and retries (it does not exit)', async () => {
    // A token of the right form, pinning the right CA, with a forged signature.
    const { token } = await admin.createJoinToken({ service: 'web' });
    const forged = token.replace(/\.[^.]+$/, '.AAAA');
    const daemon = startDaemon(SIDECAR_BIN, [
      '--xds',
      `127.0.0.1:${cp.xdsPort}`,
      '--service',
      'web',
      '--admin-port',
      '0',
      '--join-token',
      forged,
    ]);
    try {
      let failures = 0;
      await daemon.waitForLog((l) => l['msg'] === 'workload certificate request failed' && ++failures === 2, 20_000);
      expect(daemon.child.exitCode).to.equal(null);
    } finally {
      await daemon.stop();
    }
  });

  it('after the CA was re-keyed, a refused renewal falls back to the join token', async () => {
    // Two control planes share a data dir (so the token key), but the second signs with another CA (a plug-in).
    const dir = mkdtempSync(path.join(tmpdir(), 'trellis-rekey-'));
    const plugin = path.join(dir, 'plugin');
    const other = path.join(dir, 'other');
    await MeshCa.open({ trustDomain: 'mesh.test', dataDir: other });
    mkdirSync(plugin);
    copyFileSync(path.join(other, ROOT_CERT_FILE), path.join(plugin, PLUGIN_FILES.cert));
    copyFileSync(path.join(other, ROOT_CERT_FILE), path.join(plugin, PLUGIN_FILES.root));
    copyFileSync(path.join(other, ROOT_KEY_FILE), path.join(plugin, PLUGIN_FILES.key));
    const start = (pluginDir?: string) =>
      ControlPlane.start({
        store: new MemoryStore(),
        logger: pino({ level: 'silent' }),
        xdsHost: '127.0.0.1',
        xdsPort: 0,
        apiHost: '127.0.0.1',
        apiPort: 0,
        endpointGraceMs: 0,
        dataDir: dir,
        identity: {
          trustDomain: 'mesh.test',
          workloadTtlMs: 2000,
          minWorkloadTtlMs: 1000,
          ...(pluginDir ? { pluginDir } : {}),
        },
      });
    const first = await start();
    const second = await start(plugin);
    const firstAdmin = new AdminClient(`127.0.0.1:${first.apiPort}`, { timeoutMs: 5000 });
    try {
      const { token } = await firstAdmin.createJoinToken({ service: 'web', ttl_seconds: 600 });
      const stats = new Stats();
      // The sidecar trusts both roots (an operator re-keying distributes the new root beside the old one).
      const roots = [path.join(dir, ROOT_CERT_FILE), path.join(plugin, PLUGIN_FILES.root)].map((f) =>
        readFileSync(f, 'utf8'),
      );
      const identity = new WorkloadIdentity({
        addresses: [`127.0.0.1:${first.xdsPort}`, `127.0.0.1:${second.xdsPort}`],
        credentials: bootstrapCredentials({ rootPem: roots.join('\n'), serverId: controlPlaneSpiffeId('mesh.test') }),
        token,
        service: 'web',
        stats,
        logger: pino({ level: 'silent' }),
      });
      agents.push(identity);
      await identity.start();
      await first.stop(0);
      // The renewal reaches only the second control plane, which does not know the held certificate's issuer.
      const newRoot = new X509Certificate(readFileSync(path.join(plugin, PLUGIN_FILES.root)));
      const rekeyed = await new Promise<WorkloadCertificate>((resolve) =>
        identity.onChange((c) => {
          if (new X509Certificate(c.chainPem[0] as string).verify(newRoot.publicKey)) resolve(c);
        }),
      );
      identity.stop();
      expect(rekeyed.spiffeId).to.equal('spiffe://mesh.test/ns/default/sa/web');
      expect(stats.counter('tls.workload_cert.failures')).to.be.at.least(1);
    } finally {
      firstAdmin.close();
      await first.stop(0);
      await second.stop(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
