// The control plane's xDS port is mTLS (real gRPC, real TLS, the real mesh CA): a client without a workload certificate
// is refused before it reads anything; a certificate for one service cannot claim another nor announce an address that
// is not its own; the plaintext port exists only when asked for, and announcements there only when allowed.
import { webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  CertificateServiceClient,
  CONTROL_PLANE_TLS_NAME,
  type JoinTokenHints,
  joinTokenHints,
} from '@trellis/identity';
import { type KeyPair, x509 } from '@trellis/identity/x509';
import { decodeAny, TYPE_URLS } from '@trellis/xds-protos';
import { expect } from 'chai';
import { pino } from 'pino';
import { AdminClient } from '../control-plane/src/api/client.ts';
import { ControlPlane } from '../control-plane/src/control-plane.ts';
import type { ServiceResource } from '../control-plane/src/resources/types.ts';
import { MemoryStore } from '../control-plane/src/store/memory-store.ts';
import { requestCertificate } from '../sidecar/src/tls/certificate-client.ts';
import {
  bootstrapCredentials,
  type ControlPlaneTrust,
  checkControlPlaneIdentity,
  discoverControlPlaneTrust,
} from '../sidecar/src/tls/control-plane-trust.ts';
import { newWorkloadKey } from '../sidecar/src/tls/workload-key.ts';
import { type ChannelSpec, type NodeSpec, SotwClient } from './helpers/ads-client.ts';

const { cluster: CDS, endpoint: EDS } = TYPE_URLS;
const TLS_OPTIONS = { 'grpc.ssl_target_name_override': CONTROL_PLANE_TLS_NAME };

const svc = (name: string): ServiceResource => ({
  apiVersion: 'trellis.dev/v1',
  kind: 'Service',
  metadata: { name },
  spec: { ports: [{ name: 'http', port: 8080, protocol: 'HTTP' }] },
});

/** A sidecar-shaped node announcing `service` at address:port. */
const announcing = (id: string, service: string, address: string, port: number): NodeSpec => ({
  id,
  metadata: {
    TRELLIS_PROXY: 'sidecar',
    TRELLIS_SERVICE: service,
    TRELLIS_ADDRESS: address,
    TRELLIS_PORT: String(port),
  },
});

/** The address:port of every endpoint in an EDS reply. */
function endpointsOf(resources: { type_url: string; value: Uint8Array }[]): string[] {
  const out: string[] = [];
  for (const any of resources) {
    const cla = decodeAny(any) as {
      endpoints?: { lb_endpoints?: { endpoint?: { address?: { socket_address?: Record<string, unknown> } } }[] }[];
    };
    for (const locality of cla.endpoints ?? [])
      for (const lb of locality.lb_endpoints ?? []) {
        const sa = lb.endpoint?.address?.socket_address ?? {};
        out.push(`${sa['address']}:${sa['port_value']}`);
      }
  }
  return out.sort();
}

/** The message a promise rejects with ('' when it resolves). */
async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}

describe('authenticated xDS (mTLS port, real TLS)', function () {
  this.timeout(30_000);
  let dir: string;
  let cp: ControlPlane;
  let admin: AdminClient;
  let address: string;
  let trust: ControlPlaneTrust;
  const clients: SotwClient[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'trellis-xds-auth-'));
    const store = new MemoryStore();
    cp = await ControlPlane.start({
      store,
      logger: pino({ level: 'silent' }),
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      apiHost: '127.0.0.1',
      apiPort: 0,
      endpointGraceMs: 0,
      dataDir: dir,
      identity: { trustDomain: 'mesh.test' },
    });
    await store.commit({ put: [svc('orders'), svc('web')], delete: [] });
    admin = new AdminClient(`127.0.0.1:${cp.apiPort}`, { timeoutMs: 5000 });
    address = `127.0.0.1:${cp.xdsPort}`;
    const { token } = await admin.createJoinToken({ service: 'probe' });
    trust = await discoverControlPlaneTrust([address], joinTokenHints(token) as JoinTokenHints);
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  after(async () => {
    admin.close();
    await cp.stop(0);
    rmSync(dir, { recursive: true, force: true });
  });

  /** mTLS to the xDS port with a certificate the mesh CA issued for `service` (a join token, as a sidecar does). */
  async function identityOf(service: string): Promise<ChannelSpec> {
    const { token } = await admin.createJoinToken({ service });
    const key = await newWorkloadKey(service);
    const chain = await requestCertificate([address], bootstrapCredentials(trust), key.csrPem, 0, { token });
    return {
      credentials: grpc.credentials.createSsl(
        Buffer.from(trust.rootPem),
        Buffer.from(key.keyPem),
        Buffer.from(chain.join('\n')),
        { checkServerIdentity: checkControlPlaneIdentity(trust.serverId) },
      ),
      options: TLS_OPTIONS,
    };
  }

  const client = (node: NodeSpec, channel?: ChannelSpec, at = address): SotwClient => {
    const c = new SotwClient(at, node, channel);
    clients.push(c);
    return c;
  };

  it('join tokens pin the CA; the control plane proves its own SPIFFE id, which no token may grant', async () => {
    expect(trust.serverId).to.equal('spiffe://mesh.test/ns/trellis-system/sa/control-plane');
    const reserved = admin.createJoinToken({
      service: 'x',
      namespace: 'trellis-system',
      service_account: 'control-plane',
    });
    expect(await rejection(reserved)).to.match(/control plane's own identity/);
    // A token pinning another CA finds no control plane to trust here.
    const { token } = await admin.createJoinToken({ service: 'web' });
    const hints = joinTokenHints(token) as JoinTokenHints;
    const other = discoverControlPlaneTrust([address], { ...hints, caSha256: 'ab'.repeat(32) });
    expect(await rejection(other)).to.match(/does not end in the CA the join token pins/);
  });

  it('refuses clients without a workload certificate before they read any configuration', async () => {
    const node = announcing('rogue', 'web', '127.0.0.1', 9000);
    // Plaintext against the TLS port: no HTTP/2 at all.
    const plain = client(node);
    plain.send({ type_url: CDS });
    expect((await plain.status).code).to.equal(grpc.status.UNAVAILABLE);
    // TLS, trusting the right root, but no client certificate.
    const anonymous = client(node, {
      credentials: grpc.credentials.createSsl(Buffer.from(trust.rootPem), null, null, {
        checkServerIdentity: checkControlPlaneIdentity(trust.serverId),
      }),
      options: TLS_OPTIONS,
    });
    anonymous.send({ type_url: CDS });
    const refused = await anonymous.status;
    expect(refused.code).to.equal(grpc.status.UNAUTHENTICATED);
    expect(refused.details).to.match(/needs a workload certificate from the mesh CA/);
    // A self-signed certificate claiming web's SPIFFE id.
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as unknown as KeyPair;
    const forged = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'CN=web',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3600_000),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      keys,
      extensions: [
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'spiffe://mesh.test/ns/default/sa/web' }]),
      ],
    });
    const forgedKey = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as CryptoKey));
    const keyPem = `-----BEGIN PRIVATE KEY-----\n${forgedKey.toString('base64')}\n-----END PRIVATE KEY-----\n`;
    const impostor = client(node, {
      credentials: grpc.credentials.createSsl(
        Buffer.from(trust.rootPem),
        Buffer.from(keyPem),
        Buffer.from(forged.toString('pem')),
        {
          checkServerIdentity: checkControlPlaneIdentity(trust.serverId),
        },
      ),
      options: TLS_OPTIONS,
    });
    impostor.send({ type_url: CDS });
    expect((await impostor.status).code).to.equal(grpc.status.UNAUTHENTICATED);
    for (const c of [plain, anonymous, impostor]) expect(c.buffered()).to.deep.equal([]);
    expect(cp.proxies.list().map((p) => p.node.id)).to.not.include('rogue');
  });

  it('a certificate for orders cannot claim web: PERMISSION_DENIED, naming both identities', async () => {
    const orders = await identityOf('orders');
    const liar = client(announcing('liar', 'web', '127.0.0.1', 9001), orders);
    liar.send({ type_url: CDS });
    const s = await liar.status;
    expect(s.code).to.equal(grpc.status.PERMISSION_DENIED);
    expect(s.details).to.include(
      'claims service "web", but its certificate is spiffe://mesh.test/ns/default/sa/orders',
    );
    expect(liar.buffered()).to.deep.equal([]);
  });

  it("an endpoint is published only at the proxy's own address; the stream still gets configuration", async () => {
    const orders = await identityOf('orders');
    // Announcing another machine's address (the attack: take traffic meant for it): refused, the stream goes on.
    const elsewhere = client(announcing('orders-elsewhere', 'orders', '127.0.0.2', 9002), orders);
    elsewhere.send({ type_url: CDS });
    expect((await elsewhere.next(CDS)).names).to.include('orders|8080');
    const own = client(announcing('orders-own', 'orders', '127.0.0.1', 9003), orders);
    own.send({ type_url: CDS });
    await own.next(CDS);
    const status = cp.proxies.list().find((p) => p.node.id === 'orders-elsewhere');
    expect(status?.identity).to.equal('spiffe://mesh.test/ns/default/sa/orders');
    // What a caller of orders is told: the proxy's own address only.
    const watcher = client(
      { id: 'web-1', metadata: { TRELLIS_PROXY: 'sidecar', TRELLIS_SERVICE: 'web' } },
      await identityOf('web'),
    );
    watcher.send({ type_url: EDS, resource_names: ['orders|8080'] });
    let reply = await watcher.next(EDS);
    while (!endpointsOf(reply.resources).includes('127.0.0.1:9003')) {
      watcher.ack(reply);
      reply = await watcher.next(EDS);
    }
    expect(endpointsOf(reply.resources)).to.deep.equal(['127.0.0.1:9003']);
  });

  it('the plaintext port opens only when asked for: configuration without credentials, no announcements, no CA', async () => {
    const store = new MemoryStore();
    const open = await ControlPlane.start({
      store,
      logger: pino({ level: 'silent' }),
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      xdsInsecurePort: 0,
      apiHost: '127.0.0.1',
      apiPort: 0,
      endpointGraceMs: 0,
      identity: { trustDomain: 'mesh.test' },
    });
    try {
      expect(cp.xdsInsecurePort).to.equal(undefined);
      await store.commit({ put: [svc('orders')], delete: [] });
      const at = `127.0.0.1:${open.xdsInsecurePort}`;
      const anon = client(announcing('anon', 'orders', '127.0.0.1', 9004), undefined, at);
      anon.send({ type_url: CDS });
      expect((await anon.next(CDS)).names).to.include('orders|8080');
      anon.send({ type_url: EDS, resource_names: ['orders|8080'] });
      expect(endpointsOf((await anon.next(EDS)).resources)).to.deep.equal([]);
      expect(open.proxies.list().find((p) => p.node.id === 'anon')?.identity).to.equal(undefined);
      // Certificates are issued over TLS only: the signing service is not on the plaintext port.
      const ca = new CertificateServiceClient(at, grpc.credentials.createInsecure());
      const code = await new Promise<number>((resolve) =>
        (
          ca as unknown as {
            CreateCertificate(r: object, md: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void): void;
          }
        ).CreateCertificate({ csr: '', validityDuration: 0 }, new grpc.Metadata(), (e) => resolve(e?.code ?? 0)),
      );
      ca.close();
      expect(code).to.equal(grpc.status.UNIMPLEMENTED);
    } finally {
      for (const c of clients.splice(0)) c.close();
      await open.stop(0);
    }
  });
});
