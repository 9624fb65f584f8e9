// Hostile TLS clients against a STRICT mesh mTLS inbound, beside a legitimate load that reaches the same inbound over
// mTLS through the client's sidecar: a handshake flood, handshakes that stall mid-ClientHello (cut off at the
// handshake deadline), garbage instead of a ClientHello. The sidecar stays up, the load is served, memory stays
// bounded, and every connection is released.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { expect } from 'chai';
import { inBatches, underAttack } from './attack.ts';
import { type HostileMesh, startHostileMesh } from './hostile-mesh.ts';

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
        const until = Date.now() + 3_000;
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            while (Date.now() < until && handshakes < 20_000) {
              await handshake(mesh.webSidecar.inboundPort);
              handshakes++;
            }
          }),
        );
      },
    );
    expect(handshakes).to.be.greaterThan(50);
    expect(
      mesh.web.paths.filter((p) => p === '/'),
      'no refused handshake reached the app',
    ).to.deep.equal([]);
  });

  it('300 handshakes stalled mid-ClientHello: cut off at the handshake deadline, legitimate load served', async () => {
    const sockets: { socket: net.Socket; closedAtMs: number | undefined }[] = [];
    const started = Date.now();
    await underAttack(
      mesh,
      {
        name: 'TLS slow handshakes, 300 connections (STRICT inbound)',
        target: mesh.webSidecar,
        load: { port: mesh.client.outboundPort, maxMs: HANDSHAKE_MS + 4_000 },
        quietMs: 15_000,
        detail: () => `${sockets.filter((s) => s.closedAtMs !== undefined).length} of ${sockets.length} cut off`,
      },
      async () => {
        await inBatches(300, 50, async () => {
          const socket = net.connect(mesh.webSidecar.inboundPort, '127.0.0.1');
          const entry = { socket, closedAtMs: undefined as number | undefined };
          socket.once('close', () => {
            entry.closedAtMs = Date.now() - started;
          });
          socket.on('error', () => undefined);
          await new Promise((resolve) => socket.once('connect', resolve));
          // A TLS record header announcing a 512-byte ClientHello, and its first bytes: then a byte now and then.
          socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
          sockets.push(entry);
        });
        const trickle = setInterval(() => {
          for (const s of sockets) if (s.closedAtMs === undefined) s.socket.write(Buffer.from([0x00]));
        }, 500);
        const deadline = Date.now() + HANDSHAKE_MS + 5_000;
        while (sockets.some((s) => s.closedAtMs === undefined) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 200));
        clearInterval(trickle);
        for (const s of sockets) s.socket.destroy();
      },
    );
    const cut = sockets.filter((s) => s.closedAtMs !== undefined && s.closedAtMs <= HANDSHAKE_MS + 5_000);
    expect(cut.length, 'stalled handshakes the sidecar closed by the deadline').to.equal(300);
  });

  it('300 connections sending garbage instead of a ClientHello: each closed at once, legitimate load served', async () => {
    let closed = 0;
    let slowestMs = 0;
    await underAttack(
      mesh,
      {
        name: 'garbage before ClientHello, 300 connections (STRICT inbound)',
        target: mesh.webSidecar,
        load: { port: mesh.client.outboundPort },
        detail: () => `${closed} of 300 closed`,
      },
      async () => {
        await inBatches(300, 50, async (i) => {
          const socket = net.connect(mesh.webSidecar.inboundPort, '127.0.0.1');
          socket.on('error', () => undefined);
          await new Promise((resolve) => socket.once('connect', resolve));
          const garbage = randomBytes(1024);
          // Half look like a TLS record (0x16) with a nonsense body, half are not TLS at all.
          if (i % 2 === 0) garbage[0] = 0x16;
          const sent = Date.now();
          socket.write(garbage);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 5_000);
            socket.once('close', () => {
              clearTimeout(timer);
              closed++;
              slowestMs = Math.max(slowestMs, Date.now() - sent);
              resolve();
            });
          });
          socket.destroy();
        });
      },
    );
    expect(closed).to.equal(300);
    // Closed on the bytes themselves, not at a deadline (the first-byte and handshake deadlines are 10 s).
    expect(slowestMs).to.be.below(3_000);
  });
});
