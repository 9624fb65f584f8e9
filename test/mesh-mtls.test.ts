// Mesh mTLS end to end, real processes and real TLS: every sidecar holds a workload certificate (join tokens from
// trellisctl), HTTP/1.1, gRPC, WebSocket and TCP go sidecar to sidecar over mTLS; a client without a mesh
// certificate, or with one from another CA, cannot complete a handshake; PERMISSIVE takes plaintext on the same port;
// a STRICT PeerAuthentication, applied under a load, refuses it with no failed mesh request.

import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, webcrypto, type X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { type KeyPair, x509 } from '@trellis/identity/x509';
import { expect } from 'chai';
import WebSocket from 'ws';
import { ensureCommands } from '../bench/lib/apt.ts';
import { eventually } from './helpers/eventually.ts';
import { echoClient } from './helpers/grpc-echo.ts';
import { closeHttpClients, viaProxy } from './helpers/http-client.ts';
import { type Mesh, startMesh } from './helpers/mesh.ts';
import { startDaemon } from './helpers/processes.ts';
import { SIDECAR_BIN } from './helpers/sidecar.ts';

/** A TLS handshake to `port` with an optional client key and chain: the server's certificate, or why it failed. */
function handshake(
  port: number,
  client: { key: string; cert: string } | undefined,
): Promise<{ ok: true; peer: X509Certificate } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
      ...client,
    });
    // TLS 1.3: the server checks the client certificate after the client's Finished, so the refusal is an alert (or a
    // close) right after 'secureConnect'; a request is written to see it.
    socket.once('secureConnect', () => {
      const peer = socket.getPeerX509Certificate();
      socket.write('GET / HTTP/1.1\r\nHost: web\r\n\r\n');
      socket.once('data', () => {
        socket.destroy();
        if (peer === undefined) resolve({ ok: false, error: 'no server certificate' });
        else resolve({ ok: true, peer });
      });
    });
    socket.once('error', (err) => resolve({ ok: false, error: err.message }));
    socket.once('close', () => resolve({ ok: false, error: 'closed' }));
  });
}

describe('mesh mTLS between sidecars (end to end)', function () {
  this.timeout(120_000);
  let mesh: Mesh;
  const stat = async (sidecar: keyof Mesh['sidecars'], name: string): Promise<number> => {
    const text = await (await mesh.sidecars[sidecar].admin('/stats')).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}: `));
    return Number(line?.split(': ')[1] ?? 0);
  };
  const get = (path: string) => viaProxy(mesh.sidecars.client.outboundPort, `http://web:8080${path}`, { fresh: true });

  before(async () => {
    mesh = await startMesh({ mtls: true });
    await eventually(async () => expect((await get('/')).status).to.equal(200), 200);
  });
  after(async () => {
    closeHttpClients();
    await mesh?.stop();
  });

  it('each sidecar holds its SPIFFE identity (/certs)', async () => {
    const certs = (await (await mesh.sidecars.webV1.admin('/certs')).json()) as {
      certificates: { spiffe_id: string }[];
    };
    expect(certs.certificates.map((c) => c.spiffe_id)).to.deep.equal(['spiffe://cluster.local/ns/default/sa/web']);
  });

  it('every sidecar talks to the control plane over mTLS; a sidecar whose token names another service is refused', async () => {
    const status = await mesh.ctl(['proxy-status', '-o', 'json']);
    const proxies = (JSON.parse(status.stdout) as { proxies: { service: string; identity: string }[] }).proxies;
    expect(proxies.map((p) => p.service).sort()).to.deep.equal(['client', 'echo', 'tcp-echo', 'web', 'web']);
    for (const p of proxies) expect(p.identity).to.equal(`spiffe://cluster.local/ns/default/sa/${p.service}`);
    // A real sidecar holding a token for "intruder" that says it fronts web: it gets its certificate, and its ADS
    // stream is refused (the attack in the issue: take web's traffic by announcing web).
    const token = (await mesh.ctl(['token', 'create', '--service', 'intruder'])).stdout.trim();
    const intruder = startDaemon(SIDECAR_BIN, [
      '--xds',
      `127.0.0.1:${mesh.xdsPort}`,
      '--service',
      'web',
      '--admin-port',
      '0',
      '--join-token',
      token,
    ]);
    try {
      const refused = await intruder.waitForLog(
        (l) => l['code'] === 'PERMISSION_DENIED' && String(l['details']).includes('claims service "web"'),
        20_000,
      );
      expect(String(refused['details'])).to.include('its certificate is spiffe://cluster.local/ns/default/sa/intruder');
    } finally {
      await intruder.stop();
    }
    const after = await mesh.ctl(['proxy-status', '-o', 'json']);
    expect((JSON.parse(after.stdout) as { proxies: unknown[] }).proxies).to.have.length(5);
  });

  it('HTTP/1.1, gRPC (unary and streaming over h2), WebSocket and TCP go over mTLS', async () => {
    for (let i = 0; i < 4; i++) expect((await get(`/x${i}`)).status).to.equal(200);
    const grpcClient = echoClient(`127.0.0.1:${mesh.sidecars.client.outboundPort}`, {
      'grpc.default_authority': 'echo:50051',
    });
    try {
      expect(await grpcClient.who('ping')).to.deep.equal({ backend: 'echo-1', message: 'ping' });
      expect((await grpcClient.chat(['a', 'b'])).map((r) => r.message)).to.deep.equal(['a', 'b']);
    } finally {
      grpcClient.close();
    }
    const ws = new WebSocket('ws://web:8080/ws', {
      createConnection: () => net.connect(mesh.sidecars.client.outboundPort, '127.0.0.1'),
    });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('open', () => ws.send('hi'));
      ws.once('message', (d) => resolve(String(d)));
    });
    ws.close();
    expect(reply).to.match(/: hi$/);
    const tcp = net.connect(mesh.tcpLocalPort, '127.0.0.1');
    const echoed = await new Promise<string>((resolve, reject) => {
      let got = '';
      tcp.on('data', (d: Buffer) => {
        got += d.toString();
      });
      tcp.once('end', () => resolve(got));
      tcp.once('error', reject);
      tcp.end('over mtls\n');
    });
    expect(echoed).to.equal('over mtls\n');
    // Every server sidecar terminated TLS; none of that traffic was plaintext.
    const web =
      (await stat('webV1', 'listener.inbound.ssl.handshake')) + (await stat('webV2', 'listener.inbound.ssl.handshake'));
    expect(web).to.be.at.least(1);
    expect(await stat('grpc', 'listener.inbound.ssl.handshake')).to.be.at.least(1);
    expect(await stat('tcp', 'listener.inbound.ssl.handshake')).to.be.at.least(1);
    expect(
      (await stat('webV1', 'listener.inbound.plaintext_connections')) +
        (await stat('webV2', 'listener.inbound.plaintext_connections')),
    ).to.equal(0);
  });

  it("a TLS client without a mesh certificate, or with another CA's, cannot complete a handshake; a mesh one can", async () => {
    const port = mesh.sidecars.webV1.inboundPort;
    // Clients that reset before their first byte, or mid-handshake, cost the sidecar nothing.
    for (const bytes of [Buffer.alloc(0), Buffer.from([0x16, 0x03, 0x01, 0x00])]) {
      const s = net.connect(port, '127.0.0.1');
      await new Promise<void>((resolve) => s.once('connect', () => resolve()));
      if (bytes.length > 0) s.write(bytes);
      s.resetAndDestroy();
    }
    expect((await mesh.sidecars.webV1.admin('/ready')).status).to.equal(200);
    const none = await handshake(port, undefined);
    expect(none.ok).to.equal(false);
    // A self-signed certificate from outside the mesh, with a SPIFFE id that looks right.
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as unknown as KeyPair;
    const forged = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=forged',
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new x509.SubjectAlternativeNameExtension([
          { type: 'url', value: 'spiffe://cluster.local/ns/default/sa/client' },
        ]),
      ],
    });
    const forgedKey = createPrivateKey({
      key: Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey)),
      format: 'der',
      type: 'pkcs8',
    }).export({ type: 'pkcs8', format: 'pem' });
    const other = await handshake(port, { key: String(forgedKey), cert: forged.toString('pem') });
    expect(other.ok).to.equal(false);
    // A certificate from the mesh CA (a join token, as any workload gets one) is accepted, and the server proves web's
    // identity with a certificate within the CA's default lifetime (24 h).
    const { keyPem, chain } = await mesh.workloadCertificate('tester');
    const ok = await handshake(port, { key: keyPem, cert: chain.join('\n') });
    if (!ok.ok) throw new Error(ok.error);
    expect(ok.peer.subjectAltName).to.equal('URI:spiffe://cluster.local/ns/default/sa/web');
    expect(Date.parse(ok.peer.validTo) - Date.now()).to.be.within(0, 24 * 3600_000);
  });

  it("the app learns its caller's verified identity (X-Forwarded-Client-Cert); a plaintext caller cannot claim one", async () => {
    // Through the mesh: the client sidecar's certificate, checked by web's sidecar, reaches the app.
    const spoofed = { 'x-forwarded-client-cert': 'URI=spiffe://cluster.local/ns/default/sa/admin' };
    const viaMesh = await viaProxy(mesh.sidecars.client.outboundPort, 'http://web:8080/who', { headers: spoofed });
    const seen = JSON.parse(viaMesh.body) as { headers: Record<string, string> };
    const xfcc = seen.headers['x-forwarded-client-cert'] ?? '';
    expect(xfcc).to.match(
      /^By=spiffe:\/\/cluster\.local\/ns\/default\/sa\/web;Hash=[0-9a-f]{64};URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/client$/,
    );
    // The same identity in web's access log (%DOWNSTREAM_PEER_URI_SAN%) as a Telemetry resource asks for it.
    const logPath = path.join(mesh.dataDir, 'web-access.log');
    await mesh.apply(`apiVersion: trellis.dev/v1
kind: Telemetry
metadata: { name: web-peers }
spec:
  selector: { service: web }
  accessLog: { path: ${logPath}, format: { path: "%REQ(:path)%", peer: "%DOWNSTREAM_PEER_URI_SAN%", us: "%DOWNSTREAM_LOCAL_URI_SAN%" } }
`);
    await eventually(async () => {
      await viaProxy(mesh.sidecars.client.outboundPort, 'http://web:8080/logged');
      const rows = existsSync(logPath)
        ? readFileSync(logPath, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as Record<string, string>)
        : [];
      expect(rows.find((r) => r['path'] === '/logged')).to.deep.include({
        peer: 'spiffe://cluster.local/ns/default/sa/client',
        us: 'spiffe://cluster.local/ns/default/sa/web',
      });
    }, 100);
    await mesh.ctl(['delete', 'telemetry', 'web-peers']);
    // Straight to web's inbound port in plaintext (PERMISSIVE): the claimed identity is dropped.
    const direct = await viaProxy(mesh.sidecars.webV1.inboundPort, 'http://web:8080/who', {
      headers: spoofed,
      fresh: true,
    });
    expect(direct.status).to.equal(200);
    expect((JSON.parse(direct.body) as { headers: Record<string, string> }).headers).to.not.have.property(
      'x-forwarded-client-cert',
    );
  });

  it('PERMISSIVE takes plaintext on the inbound port; a STRICT PeerAuthentication, applied live under load, refuses it with no failed request', async () => {
    const direct = () => viaProxy(mesh.sidecars.webV1.inboundPort, 'http://web:8080/direct', { fresh: true });
    expect((await direct()).status).to.equal(200);
    expect(await stat('webV1', 'listener.inbound.plaintext_connections')).to.be.at.least(1);
    let running = true;
    const failures: string[] = [];
    let served = 0;
    const load = Promise.all(
      Array.from({ length: 2 }, async () => {
        while (running) {
          const r = await get('/under-load');
          if (r.status === 200) served++;
          else failures.push(`${r.status} ${r.body}`);
        }
      }),
    );
    try {
      await mesh.apply(`apiVersion: trellis.dev/v1
kind: PeerAuthentication
metadata: { name: web-strict }
spec:
  selector: { service: web }
  mtls: { mode: STRICT }
`);
      await eventually(async () => {
        const r = await direct().catch((err: Error) => ({ status: 0, body: err.message }));
        expect(r.status).to.equal(0);
      }, 200);
    } finally {
      running = false;
      await load;
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
    expect(served).to.be.at.least(1);
    expect((await get('/after')).status).to.equal(200);
  });

  it('CONNECT tunnels go over mTLS too: a TCP tunnel reaches a STRICT service', async () => {
    await mesh.apply(`apiVersion: trellis.dev/v1
kind: PeerAuthentication
metadata: { name: tcp-strict }
spec:
  selector: { service: tcp-echo }
  mtls: { mode: STRICT }
`);
    const handshakes = await stat('tcp', 'listener.inbound.ssl.handshake');
    const tunnel = async (): Promise<string> => {
      const socket = net.connect(mesh.sidecars.client.outboundPort, '127.0.0.1');
      try {
        return await new Promise<string>((resolve, reject) => {
          socket.once('error', reject);
          socket.write('CONNECT tcp-echo:7000 HTTP/1.1\r\nHost: tcp-echo:7000\r\n\r\n');
          let got = '';
          socket.on('data', (d: Buffer) => {
            got += d.toString();
            if (/^HTTP\/1\.1 200/.test(got) && !got.includes('tunnelled')) socket.write('tunnelled\n');
            if (got.includes('tunnelled\n')) resolve(got.slice(got.indexOf('\r\n\r\n') + 4));
            if (/^HTTP\/1\.1 [45]/.test(got)) resolve(got);
          });
        });
      } finally {
        socket.destroy();
      }
    };
    await eventually(async () => expect(await tunnel()).to.equal('tunnelled\n'), 100);
    expect(await stat('tcp', 'listener.inbound.ssl.handshake')).to.be.above(handshakes);
    expect(await stat('tcp', 'listener.inbound.plaintext_connections')).to.equal(0);
  });

  it('openssl s_client against a STRICT inbound port: no certificate and a foreign one fail, a mesh one is served', async () => {
    // web is STRICT since the test before (its PeerAuthentication stays).
    ensureCommands({ openssl: 'openssl' });
    const port = mesh.sidecars.webV1.inboundPort;
    const dir = mkdtempSync(path.join(tmpdir(), 'trellis-s-client-'));
    try {
      const file = (name: string, text: string): string => {
        writeFileSync(path.join(dir, name), text, { mode: 0o600 });
        return path.join(dir, name);
      };
      // What a workload holds: a certificate from the mesh CA for its join token.
      const { keyPem, chain, rootPem } = await mesh.workloadCertificate('tester');
      const mesh1 = ['-cert', file('mesh.pem', chain.join('\n')), '-key', file('mesh.key', keyPem)];
      // Another CA's certificate claiming a mesh identity.
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-days',
          '1',
          '-keyout',
          path.join(dir, 'other.key'),
          '-out',
          path.join(dir, 'other.pem'),
          '-subj',
          '/CN=other',
          '-addext',
          'subjectAltName=URI:spiffe://cluster.local/ns/default/sa/client',
        ],
        { stdio: 'ignore' },
      );
      const other = ['-cert', path.join(dir, 'other.pem'), '-key', path.join(dir, 'other.key')];
      // One TLS 1.3 handshake, then whatever the server says within `ms` (TLS 1.3: a refused client certificate
      // surfaces as an alert after the handshake; an accepted one gets the server's session tickets).
      const sClient = (extra: string[], ms: number): string => {
        const r = spawnSync(
          'openssl',
          [
            's_client',
            '-connect',
            `127.0.0.1:${port}`,
            '-tls1_3',
            '-CAfile',
            file('root.pem', rootPem),
            '-ign_eof',
            ...extra,
          ],
          { input: '', encoding: 'utf8', timeout: ms },
        );
        return `${r.stdout}${r.stderr}`;
      };
      const none = sClient([], 10_000);
      expect(none).to.match(/alert certificate required/);
      expect(none).to.not.contain('New Session Ticket');
      // Another CA's certificate: the connection is closed without a session ticket (the handshake never completes).
      expect(sClient(other, 10_000)).to.not.contain('New Session Ticket');
      const ok = sClient(mesh1, 2000);
      expect(ok).to.match(/Verify return code: 0 \(ok\)/);
      expect(ok).to.contain('Post-Handshake New Session Ticket arrived');
      expect(ok).to.not.match(/alert|errno=/);
      // The certificate served: web's SPIFFE id, within the CA's default lifetime (24 h).
      const served = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(ok)?.[0] ?? '';
      const text = execFileSync('openssl', ['x509', '-noout', '-ext', 'subjectAltName', '-enddate'], {
        input: served,
        encoding: 'utf8',
      });
      expect(text).to.contain('URI:spiffe://cluster.local/ns/default/sa/web');
      const notAfter = Date.parse(/notAfter=(.+)/.exec(text)?.[1] ?? '');
      expect(notAfter - Date.now()).to.be.within(0, 24 * 3600_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('active health checks reach STRICT hosts over mTLS (as traffic does): the hosts stay healthy', async () => {
    await mesh.apply(`apiVersion: trellis.dev/v1
kind: TrafficPolicy
metadata: { name: web }
spec:
  service: web
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
  healthCheck: { http: { path: /healthz }, interval: 200ms, timeout: 1s, healthyThreshold: 1, unhealthyThreshold: 1 }
`);
    const successes = async (): Promise<number> => {
      const text = await (await mesh.sidecars.client.admin('/stats')).text();
      return [...text.matchAll(/^cluster\.web\|8080[^:]*\.health_check\.success: (\d+)$/gm)].reduce(
        (a, m) => a + Number(m[1]),
        0,
      );
    };
    await eventually(async () => expect(await successes()).to.be.at.least(4), 200);
    const clusters = await (await mesh.sidecars.client.admin('/clusters')).text();
    expect(clusters).to.not.match(/web\|8080::[^\n]*failed_active_hc/);
    for (let i = 0; i < 4; i++) expect((await get(`/hc${i}`)).status).to.equal(200);
  });
});

describe('mesh mTLS: certificates rotating under load (end to end)', function () {
  this.timeout(120_000);
  let mesh: Mesh;

  before(async () => {
    // Three-second certificates: every sidecar rotates about every 1.5 s.
    mesh = await startMesh({
      mtls: true,
      cpArgs: ['--min-workload-cert-ttl', '1s'],
      sidecarArgs: ['--workload-cert-ttl', '3s'],
    });
  });
  after(async () => {
    closeHttpClients();
    await mesh?.stop();
  });

  it('two rotations on each side under a bounded load: zero failed requests, keep-alive connections kept', async () => {
    const rotations = async (sidecar: keyof Mesh['sidecars']): Promise<number> => {
      const text = await (await mesh.sidecars[sidecar].admin('/stats')).text();
      return Number(/^tls\.workload_cert\.rotations: (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    const start = { client: await rotations('client'), web: await rotations('webV1') };
    let running = true;
    const failures: string[] = [];
    let served = 0;
    const load = Promise.all(
      Array.from({ length: 2 }, async () => {
        while (running) {
          // Keep-alive (the shared agent): connections opened before a rotation go on after it.
          const r = await viaProxy(mesh.sidecars.client.outboundPort, 'http://web:8080/rotating').catch(
            (err: Error) => ({ status: 0, body: err.message }),
          );
          if (r.status === 200) served++;
          else failures.push(`${r.status} ${r.body}`);
        }
      }),
    );
    try {
      await eventually(async () => {
        expect((await rotations('client')) - start.client).to.be.at.least(2);
        expect((await rotations('webV1')) - start.web).to.be.at.least(2);
      }, 250);
    } finally {
      running = false;
      await load;
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
    expect(served).to.be.at.least(10);
  });
  it('after rotations, a restarted control plane takes every sidecar back over mTLS with its newest certificate', async () => {
    // The certificates the sidecars first connected with have expired by now (3 s), and those held while the control
    // plane is away expire too: a connection refused for one is dropped, the next shows the certificate in force.
    await mesh.restartControlPlane();
    await eventually(async () => {
      const status = await mesh.ctl(['proxy-status', '-o', 'json']);
      const proxies = (JSON.parse(status.stdout) as { proxies: { identity: string }[] }).proxies;
      expect(proxies).to.have.length(5);
      for (const p of proxies) expect(p.identity).to.match(/^spiffe:\/\/cluster\.local\/ns\/default\/sa\//);
    }, 200);
    expect((await viaProxy(mesh.sidecars.client.outboundPort, 'http://web:8080/after-restart')).status).to.equal(200);
  });
});
