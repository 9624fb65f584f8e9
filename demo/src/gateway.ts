// The demo's edge gateway: a CA and a certificate for localhost made for the run, a Gateway (HTTPS, and HTTP
// redirecting to it) with a Route to web, and a `trellis-sidecar --gateway` serving it with its own identity;
// probed once over HTTPS with the CA, as a user's curl would.
import { webcrypto } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { type KeyPair, x509 } from '@trellis/identity/x509';
import { BINS } from './paths.ts';
import type { PortAllocator } from './ports.ts';
import type { Child, ProcessGroup } from './process-group.ts';
import { trellisctl } from './trellisctl.ts';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface DemoGateway {
  child: Child;
  /** https://localhost:<port>/checkout */
  url: string;
  /** The CA that signed the gateway's certificate (curl --cacert). */
  caFile: string;
  httpPort: number;
  adminPort: number;
  /** The status of the probe request (200 when the gateway serves). */
  probeStatus: number;
}

function pem(der: ArrayBuffer, label: string): string {
  return `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64')}\n-----END ${label}-----\n`;
}

/**
 * A CA and a localhost certificate it signed (ECDSA P-256, `days` days), written to `dir` as ca.pem, localhost.crt
 * and localhost.key (`keyMode`: 0600 for the local demo; a container volume read by another user needs 0644).
 */
export async function makeEdgeCertificates(
  dir: string,
  days = 1,
  keyMode = 0o600,
): Promise<{ caFile: string; certFile: string; keyFile: string }> {
  mkdirSync(dir, { recursive: true });
  const caKeys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as unknown as KeyPair;
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + days * 24 * 3600_000);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=Trellis demo edge CA',
    keys: caKeys,
    signingAlgorithm: EC,
    notBefore,
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as unknown as KeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    subject: 'CN=localhost',
    issuer: ca.subjectName,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: EC,
    notBefore,
    notAfter,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
      ]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const key = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  const files = {
    caFile: path.join(dir, 'ca.pem'),
    certFile: path.join(dir, 'localhost.crt'),
    keyFile: path.join(dir, 'localhost.key'),
  };
  writeFileSync(files.caFile, ca.toString('pem'));
  writeFileSync(files.certFile, leaf.toString('pem'));
  writeFileSync(files.keyFile, pem(key, 'PRIVATE KEY'), { mode: keyMode });
  return files;
}

/** One GET with the CA: the status, or 0 when it failed. */
function probe(url: string, ca: string): Promise<number> {
  return new Promise((resolve) => {
    const req = https.get(url, { ca, timeout: 3_000, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

export async function startGateway(opts: {
  group: ProcessGroup;
  ports: PortAllocator;
  dataDir: string;
  api: string;
  xds: string;
  tracingArgs: string[];
}): Promise<DemoGateway> {
  const dir = path.join(opts.dataDir, 'gateway');
  const files = await makeEdgeCertificates(dir);
  const [httpsPort, httpPort, adminPort, outboundPort] = [
    await opts.ports.next(),
    await opts.ports.next(),
    await opts.ports.next(),
    await opts.ports.next(),
  ];
  const config = path.join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    `# The demo's edge gateway (written by npm run demo for this run).
apiVersion: trellis.dev/v1
kind: Gateway
metadata: { name: edge }
spec:
  servers:
    - port: ${httpsPort}
      protocol: HTTPS
      hosts: [localhost]
      tls: { certificates: [{ certFile: ${files.certFile}, keyFile: ${files.keyFile} }] }
      hsts: { maxAge: 8760h }
    - port: ${httpPort}
      protocol: HTTP
      hosts: ["*"]
      httpsRedirect: true
---
apiVersion: trellis.dev/v1
kind: Route
metadata: { name: edge-web }
spec:
  hosts: [localhost]
  gateways: [edge]
  http: [{ route: [{ service: web }] }]
`,
  );
  await trellisctl(opts.api, ['apply', '-f', config]);
  const token = (await trellisctl(opts.api, ['token', 'create', '--service', 'edge'])).trim();
  const child = opts.group.start('edge-gateway', BINS.sidecar, [
    ...opts.tracingArgs,
    '--xds',
    opts.xds,
    '--service',
    'edge',
    '--gateway',
    'edge',
    '--node-id',
    'edge-gateway',
    '--inbound-address',
    '127.0.0.1',
    '--outbound-port',
    String(outboundPort),
    '--admin-port',
    String(adminPort),
    '--drain-time',
    '1s',
    '--join-token',
    token,
  ]);
  await child.waitForLog((l) => l['msg'] === 'sidecar ready');
  const url = `https://localhost:${httpsPort}/checkout`;
  const caPem = readFileSync(files.caFile, 'utf8');
  let status = 0;
  for (let i = 0; i < 50 && status !== 200; i++) {
    status = await probe(url, caPem);
    if (status !== 200) await new Promise((r) => setTimeout(r, 200));
  }
  return { child, url, caFile: files.caFile, httpPort, adminPort, probeStatus: status };
}
