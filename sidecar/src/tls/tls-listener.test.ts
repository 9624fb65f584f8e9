// TLS termination in front of a listener, on real sockets: handshakes in progress count as the listener's connections
// (drain and /stats see them) until they fail or are handed on, and a new trust bundle from SDS takes effect on the
// next connection without a new listener.
import { webcrypto } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { type KeyPair, x509 } from '@trellis/identity/x509';
import { expect } from 'chai';
import { Stats } from '../common/stats.ts';
import type { ListenerConfig } from '../config/model.ts';
import type { ConnectionHandler } from '../listeners/connection-handler.ts';
import { MeshTls } from './mesh-tls.ts';
import { tlsTerminating } from './tls-listener.ts';
import type { WorkloadCertificate } from './workload-identity.ts';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

interface Issuer {
  cert: InstanceType<typeof x509.X509Certificate>;
  keys: KeyPair;
}

async function keyPair(): Promise<KeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as unknown as KeyPair;
}

async function keyPem(keys: KeyPair): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  return `-----BEGIN PRIVATE KEY-----\n${Buffer.from(der).toString('base64')}\n-----END PRIVATE KEY-----\n`;
}

async function rootCa(name: string): Promise<Issuer> {
  const keys = await keyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    keys,
    signingAlgorithm: EC,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  return { cert, keys };
}

async function workload(ca: Issuer, service: string): Promise<WorkloadCertificate> {
  const keys = await keyPair();
  const spiffeId = `spiffe://mesh.test/ns/default/sa/${service}`;
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${service}`,
    issuer: ca.cert.subjectName,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: EC,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }])],
  });
  return { keyPem: await keyPem(keys), chainPem: [cert.toString('pem')], spiffeId, notBefore: 0, notAfter: 0 };
}

/** An inner handler that only counts and closes what it is handed. */
class Counting implements ConnectionHandler {
  handed = 0;
  handle(socket: net.Socket): void {
    this.handed++;
    socket.end('ok');
  }
  drain(): Promise<void> {
    return Promise.resolve();
  }
  activeConnections(): number {
    return 0;
  }
}

describe('TLS termination (tls-listener)', () => {
  let caA: Issuer;
  let caB: Issuer;
  let server: WorkloadCertificate;
  let clientA: WorkloadCertificate;
  let clientB: WorkloadCertificate;
  let bundle: string;
  let inner: Counting;
  let handler: ConnectionHandler;
  let listening: net.Server;
  let port: number;
  const accepted: net.Socket[] = [];

  before(async () => {
    caA = await rootCa('A');
    caB = await rootCa('B');
    server = await workload(caA, 'web');
    clientA = await workload(caA, 'client');
    clientB = await workload(caB, 'client');
    bundle = caA.cert.toString('pem');
    const mesh = new MeshTls({ current: server }, (name) => (name === 'ROOTCA' ? bundle : undefined));
    inner = new Counting();
    const listener = {
      name: 'inbound',
      tls: {
        mode: 'strict',
        context: {
          alpn: [],
          minVersion: 'TLSv1.3',
          trust: { secret: 'ROOTCA' },
          sans: [{ prefix: 'spiffe://mesh.test/' }],
          requireClientCertificate: true,
        },
      },
      filter: { type: 'tcp' },
    } as unknown as ListenerConfig;
    handler = tlsTerminating(() => inner, mesh, new Stats())(listener, undefined);
    listening = net.createServer((socket) => {
      accepted.push(socket);
      handler.handle(socket);
    });
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
    port = (listening.address() as net.AddressInfo).port;
  });

  after(async () => {
    for (const s of accepted) s.destroy();
    await new Promise((resolve) => listening.close(resolve));
  });

  /** Connects with a client certificate; resolves with what the server answered, or the error. */
  const connect = (cert: WorkloadCertificate): Promise<string> =>
    new Promise((resolve) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        key: cert.keyPem,
        cert: cert.chainPem.join('\n'),
        ca: caA.cert.toString('pem'),
        checkServerIdentity: () => undefined,
      });
      let body = '';
      socket.on('data', (d: Buffer) => {
        body += d.toString();
      });
      socket.once('end', () => resolve(body));
      socket.once('error', (err) => resolve(`error: ${err.message}`));
    });

  it('counts a connection shaking hands until it goes away', async () => {
    const raw = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => raw.once('connect', resolve));
    // The first bytes of a ClientHello, then nothing: the handshake is in progress.
    raw.write(Buffer.from([0x16, 0x03, 0x01, 0x00]));
    while (accepted.length === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(handler.activeConnections()).to.equal(1);
    const closed = new Promise((resolve) => (accepted[0] as net.Socket).once('close', resolve));
    raw.destroy();
    await closed;
    expect(handler.activeConnections()).to.equal(0);
  });

  it('hands a verified connection on (no longer counted here) and takes a new SDS bundle on the next connection', async () => {
    expect(await connect(clientA)).to.equal('ok');
    expect(inner.handed).to.equal(1);
    expect(handler.activeConnections()).to.equal(0);
    // A client of another CA is refused while the bundle holds A only ...
    expect(await connect(clientB)).to.match(/^error|^$/);
    expect(inner.handed).to.equal(1);
    // ... and accepted once the secret holds both roots: same listener, same handler.
    bundle = `${caA.cert.toString('pem')}\n${caB.cert.toString('pem')}`;
    expect(await connect(clientB)).to.equal('ok');
    expect(inner.handed).to.equal(2);
    expect(handler.activeConnections()).to.equal(0);
  });
});
