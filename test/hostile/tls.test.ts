// Hostile TLS clients against a STRICT mesh mTLS inbound (beside a legitimate load that reaches the same inbound over
// mTLS through the client's sidecar) and against an edge gateway's HTTPS port (beside a legitimate HTTPS load to the
// same port): a handshake flood, handshakes that stall mid-ClientHello (cut off at the handshake deadline), garbage
// instead of a ClientHello. The proxy stays up, the load is served, memory stays bounded, every connection released.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { expect } from 'chai';
import { freePort } from '../../bench/lib/ports.ts';
import { selfSignedCertificate } from '../helpers/certificates.ts';
import { inBatches, underAttack } from './attack.ts';
import { type HostileMesh, type ManagedSidecar, startHostileMesh, until } from './hostile-mesh.ts';

const STRICT = `apiVersion: trellis.dev/v1
kind: PeerAuthentication
metadata: { name: web }
spec:
  selector: { service: web }
  mtls: { mode: STRICT }
`;

/** The sidecar's TLS handshake deadline (sidecar/src/tls/tls-listener.ts). */
const HANDSHAKE_MS = 10_000;

/** A TLS handshake without a client certificate: settled however it ends (refused, in TLS 1.3 after it "succeeds"). */
function handshake(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    const done = (): void => {
      socket.destroy();
      resolve();
    };
    socket.once('secureConnect', () => {
      socket.write('GET / HTTP/1.1\r\nHost: web\r\n\r\n');
    });
    socket.once('data', done);
    socket.once('error', done);
    socket.once('close', done);
    socket.setTimeout(5_000, done);
  });
}

/**
 * Sends 1 KiB of garbage on a new connection and resolves with how long the proxy took to close it (undefined: it did
 * not within 5 s). Odd connections send printable bytes, not TLS at all; even ones one whole TLS record (its header
 * announcing the 1,019 bytes that follow) holding a ClientHello header whose length ends exactly with the record, and
 * random bytes for its body: no valid ClientHello, and nothing in either announces bytes still to come. (Fully random
 * bytes can: a high first byte reads as an SSLv2 header, a second byte 0x03 as a TLS record of up to 16 KiB, a
 * handshake type 0x01 as a ClientHello of up to 128 KiB; each is a slow handshake the deadline cuts, as the
 * stalled-handshake test shows, not garbage.)
 */
async function garbageClosedAfterMs(port: number, i: number): Promise<number | undefined> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  const garbage = randomBytes(1024);
  if (i % 2 === 0) garbage.set([0x16, 0x03, 0x01, 0x03, 0xfb, 0x01, 0x00, 0x03, 0xf7]);
  else for (let b = 0; b < garbage.length; b++) garbage[b] = 0x20 + ((garbage[b] ?? 0) % 0x5f);
  const sent = Date.now();
  socket.write(garbage);
  const closedAfter = await new Promise<number | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 5_000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - sent);
    });
  });
  socket.destroy();
  return closedAfter;
}

/** Handshakes without a client certificate on `port`, 8 at a time for 3 s (at most 20,000): how many were made. */
async function handshakeFlood(port: number): Promise<number> {
  let handshakes = 0;
  const until = Date.now() + 3_000;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (Date.now() < until && handshakes < 20_000) {
        await handshake(port);
        handshakes++;
      }
    }),
  );
  return handshakes;
}

/**
 * 300 connections to `port` that stall mid-ClientHello (a record header announcing 512 bytes and its first bytes, then
 * a byte every 500 ms): how long after its start the proxy closed each, undefined for one still open 5 s past the
 * handshake deadline (then closed by the attacker).
 */
async function stalledHandshakes(port: number): Promise<(number | undefined)[]> {
  const started = Date.now();
  const sockets: { socket: net.Socket; closed: Promise<number> }[] = [];
  await inBatches(300, 50, async () => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    sockets.push({ socket, closed });
  });
  const trickle = setInterval(() => {
    for (const s of sockets) if (!s.socket.destroyed) s.socket.write(Buffer.from([0x00]));
  }, 500);
  const deadlineMs = HANDSHAKE_MS + 5_000 - (Date.now() - started);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), deadlineMs);
  });
  const closedAt = await Promise.all(sockets.map((s) => Promise.race([s.closed, late])));
  clearTimeout(timer);
  clearInterval(trickle);
  for (const s of sockets) s.socket.destroy();
  return closedAt;
}

describe('hostile: TLS against a STRICT mTLS inbound', function () {
  this.timeout(120_000);
  let mesh: HostileMesh;

  before(async () => {
    mesh = await startHostileMesh(STRICT, { mtls: true });
  });
  beforeEach(async () => mesh?.ensureUp());
  after(async () => {
    await mesh?.stop();
  });

  it('a handshake flood (8 at a time for 3 s, no client certificate): legitimate mTLS load served, all released', async () => {
    let handshakes = 0;
    await underAttack(
      mesh,
      {
        name: 'TLS handshake flood (STRICT inbound)',
        target: mesh.webSidecar,
        load: { port: mesh.client.outboundPort },
        detail: () => `${handshakes} handshakes`,
      },
      async () => {
        handshakes = await handshakeFlood(mesh.webSidecar.inboundPort);
      },
    );
    expect(handshakes).to.be.greaterThan(50);
    expect(
      mesh.web.paths.filter((p) => p === '/'),
      'no refused handshake reached the app',
    ).to.deep.equal([]);
  });

  it('300 handshakes stalled mid-ClientHello: cut off at the handshake deadline, legitimate load served', async () => {
    let closedAt: (number | undefined)[] = [];
    await underAttack(
      mesh,
      {
        name: 'TLS slow handshakes, 300 connections (STRICT inbound)',
        target: mesh.webSidecar,
        load: { port: mesh.client.outboundPort, maxMs: HANDSHAKE_MS + 4_000 },
        quietMs: 15_000,
      },
      async () => {
        closedAt = await stalledHandshakes(mesh.webSidecar.inboundPort);
      },
    );
    expect(
      closedAt.filter((t) => t === undefined),
      'stalled handshakes left open past the deadline',
    ).to.deep.equal([]);
    expect(closedAt).to.have.length(300);
  });

  it('300 connections sending garbage instead of a ClientHello: each closed at once, legitimate load served', async () => {
    const closedAfter: (number | undefined)[] = [];
    await underAttack(
      mesh,
      {
        name: 'garbage before ClientHello, 300 connections (STRICT inbound)',
        target: mesh.webSidecar,
        load: { port: mesh.client.outboundPort },
        detail: () => `${closedAfter.filter((t) => t !== undefined).length} of 300 closed`,
      },
      async () => {
        await inBatches(300, 50, async (i) => {
          closedAfter.push(await garbageClosedAfterMs(mesh.webSidecar.inboundPort, i));
        });
      },
    );
    // Closed by the proxy on the bytes themselves, not at a deadline (the first-byte and handshake deadlines are 10 s).
    expect(closedAfter.filter((t) => t === undefined || t >= 3_000)).to.deep.equal([]);
  });
});

describe('hostile: TLS against an edge gateway (HTTPS)', function () {
  this.timeout(120_000);
  let mesh: HostileMesh;
  let gateway: ManagedSidecar;
  let httpsPort: number;
  let dir: string;
  const HOST = 'shop.test';

  before(async () => {
    mesh = await startHostileMesh('', { mtls: true });
    dir = mkdtempSync(path.join(tmpdir(), 'trellis-hostile-edge-'));
    const { cert, key } = await selfSignedCertificate(HOST, { dns: HOST });
    writeFileSync(path.join(dir, 'c.pem'), cert);
    writeFileSync(path.join(dir, 'k.pem'), key);
    httpsPort = await freePort();
    // The legitimate load (4 workers, one client address) stays far below the per-client limit.
    await mesh.apply(`apiVersion: trellis.dev/v1
kind: Gateway
metadata: { name: edge }
spec:
  rateLimit: { perClient: { requestsPerUnit: 5000, unit: second } }
  servers:
    - port: ${httpsPort}
      protocol: HTTPS
      hosts: [${HOST}]
      tls: { certificates: [{ certFile: ${dir}/c.pem, keyFile: ${dir}/k.pem }] }
---
apiVersion: trellis.dev/v1
kind: Route
metadata: { name: edge-web }
spec:
  hosts: [${HOST}]
  gateways: [edge]
  http: [{ route: [{ service: web }] }]
`);
    const token = (await mesh.ctl(['token', 'create', '--service', 'edge'])).stdout.trim();
    gateway = await mesh.addSidecar('edge', undefined, ['--gateway', 'edge', '--join-token', token]);
    await until(async () => (await httpsStatus(httpsPort, HOST)) === 200, 'web through the gateway');
  });
  beforeEach(async () => mesh?.ensureUp());
  after(async () => {
    await mesh?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const load = () => ({ port: httpsPort, protocol: 'h1s' as const, authority: HOST });

  it('a handshake flood (8 at a time for 3 s): the legitimate HTTPS load is served, all released', async () => {
    let handshakes = 0;
    await underAttack(
      mesh,
      {
        name: 'TLS handshake flood (edge gateway)',
        target: gateway,
        load: load(),
        detail: () => `${handshakes} handshakes`,
      },
      async () => {
        handshakes = await handshakeFlood(httpsPort);
      },
    );
    expect(handshakes).to.be.greaterThan(50);
  });

  it('300 connections sending garbage instead of a ClientHello: each closed at once, the load served', async () => {
    const closedAfter: (number | undefined)[] = [];
    await underAttack(
      mesh,
      { name: 'garbage before ClientHello, 300 connections (edge gateway)', target: gateway, load: load() },
      async () => {
        await inBatches(300, 50, async (i) => {
          closedAfter.push(await garbageClosedAfterMs(httpsPort, i));
        });
      },
    );
    expect(closedAfter.filter((t) => t === undefined || t >= 3_000)).to.deep.equal([]);
  });

  it('300 handshakes stalled mid-ClientHello: cut off at the handshake deadline, the load served', async () => {
    let closedAt: (number | undefined)[] = [];
    await underAttack(
      mesh,
      {
        name: 'TLS slow handshakes, 300 connections (edge gateway)',
        target: gateway,
        load: { ...load(), maxMs: HANDSHAKE_MS + 4_000 },
        quietMs: 15_000,
      },
      async () => {
        closedAt = await stalledHandshakes(httpsPort);
      },
    );
    expect(
      closedAt.filter((t) => t === undefined),
      'stalled handshakes left open past the deadline',
    ).to.deep.equal([]);
    expect(closedAt).to.have.length(300);
  });
});

/** One HTTPS GET with SNI `host` (any certificate): the status, 0 on failure. */
function httpsStatus(port: number, host: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: host, rejectUnauthorized: false });
    let text = '';
    socket.once('secureConnect', () => socket.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    socket.on('data', (d: Buffer) => {
      text += d.toString();
    });
    socket.once('close', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0)));
    socket.once('error', () => resolve(0));
    socket.setTimeout(3_000, () => socket.destroy());
  });
}
