// Hostile input: slowloris beside a legitimate load: hundreds of connections trickling a request head (or a body) a
// byte at a time. They must neither starve legitimate requests nor outlive the request head deadline.
import type net from 'node:net';
import { expect } from 'chai';
import { inBatches, underAttack } from './attack.ts';
import { BASE_RESOURCES, type HostileMesh, startHostileMesh, until } from './hostile-mesh.ts';
import { connectRaw, statusesOf } from './raw-h1.ts';

const HOST = 'web:8080';

interface Trickler {
  socket: net.Socket;
  received: string;
  closedAtMs: number | undefined;
}

/**
 * Opens `count` connections (refused ones are counted, not fatal), writes `opening` on each, then one `byte` every
 * `everyMs` on every open connection until `untilMs` pass. With `replenish`, a connection that got an answer (a 503,
 * say) is dropped and replaced by a new one, as an attacker keeps its grip, up to `maxTotal` connections in all.
 */
async function trickle(
  port: number,
  opts: {
    count: number;
    opening: string;
    byte: string;
    everyMs: number;
    untilMs: number;
    replenish?: boolean;
    maxTotal?: number;
  },
): Promise<{ tricklers: Trickler[]; refused: number; answered: number }> {
  const start = Date.now();
  let refused = 0;
  let answered = 0;
  const tricklers: Trickler[] = [];
  const open = async (): Promise<void> => {
    try {
      const socket = await connectRaw(port);
      const t: Trickler = { socket, received: '', closedAtMs: undefined };
      socket.on('data', (d: Buffer) => {
        t.received += d.toString('latin1');
      });
      socket.once('close', () => {
        t.closedAtMs = Date.now() - start;
      });
      socket.write(opts.opening);
      tricklers.push(t);
    } catch {
      refused++;
    }
  };
  await inBatches(opts.count, 50, open);
  const maxTotal = opts.maxTotal ?? opts.count;
  await new Promise<void>((resolve) => {
    let replacing = false;
    const timer = setInterval(() => {
      const live = tricklers.filter((t) => t.closedAtMs === undefined && t.received === '');
      if (Date.now() - start >= opts.untilMs || (live.length === 0 && !opts.replenish)) {
        clearInterval(timer);
        resolve();
        return;
      }
      for (const t of live) t.socket.write(opts.byte);
      if (!opts.replenish || replacing) return;
      const done = tricklers.filter((t) => !t.socket.destroyed && (t.received !== '' || t.closedAtMs !== undefined));
      for (const t of done) {
        answered++;
        t.socket.destroy();
      }
      const missing = Math.min(opts.count - live.length, maxTotal - tricklers.length - refused);
      if (missing <= 0) return;
      replacing = true;
      void inBatches(missing, 50, open).then(() => {
        replacing = false;
      });
    }, opts.everyMs);
  });
  return { tricklers, refused, answered };
}

function closeAll(tricklers: Trickler[]): Promise<void> {
  return Promise.all(
    tricklers.map(
      (t) =>
        new Promise<void>((resolve) => {
          if (t.socket.destroyed) resolve();
          else {
            t.socket.once('close', () => resolve());
            t.socket.destroy();
          }
        }),
    ),
  ).then(() => undefined);
}

describe('hostile: slowloris', function () {
  this.timeout(120_000);
  let mesh: HostileMesh;

  before(async () => {
    mesh = await startHostileMesh();
  });
  beforeEach(async () => mesh?.ensureUp());
  after(async () => {
    await mesh?.stop();
  });

  for (const listener of ['outbound', 'inbound'] as const) {
    it(`500 connections trickling request heads (${listener}): legitimate load served, all released after`, async () => {
      const target = listener === 'outbound' ? mesh.client : mesh.webSidecar;
      const port = listener === 'outbound' ? target.outboundPort : target.inboundPort;
      let result: Awaited<ReturnType<typeof trickle>> = { tricklers: [], refused: 0, answered: 0 };
      await underAttack(
        mesh,
        {
          name: `slowloris heads, 500 connections (${listener})`,
          target,
          load: { port },
          detail: () => `${result.tricklers.length} trickling, ${result.refused} refused`,
        },
        async () => {
          result = await trickle(port, {
            count: 500,
            opening: `GET /slowloris HTTP/1.1\r\nHost: ${HOST}\r\nX-Slow: `,
            byte: 'a',
            everyMs: 250,
            untilMs: 3_000,
          });
          await closeAll(result.tricklers);
        },
      );
      expect(result.tricklers.length + result.refused).to.equal(500);
      expect(
        mesh.web.paths.filter((p) => p === '/slowloris'),
        'no trickled head reached the app',
      ).to.deep.equal([]);
    });
  }

  it('200 heads trickled a byte every 250 ms are cut off at the request head deadline (408), load served', async () => {
    // The client Service's sidecar limits: a 2 s head deadline instead of the 10 s default, to keep the test short.
    const deadlineMs = 2_000;
    await mesh.apply(`apiVersion: trellis.dev/v1
kind: Service
metadata: { name: client }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
  sidecar: { requestHeadersTimeout: 2s }
`);
    await until(async () => {
      const dump = await (await mesh.client.proc.admin('/config_dump')).text();
      return /"request_headers_timeout":\s*\{\s*"seconds":\s*"?2"?/.test(dump);
    }, 'the 2 s head deadline reached the client sidecar');
    const port = mesh.client.outboundPort;
    let result: Awaited<ReturnType<typeof trickle>> = { tricklers: [], refused: 0, answered: 0 };
    try {
      await underAttack(mesh, { name: 'slowloris heads past the 2 s head deadline', target: mesh.client }, async () => {
        result = await trickle(port, {
          count: 200,
          opening: `GET /slowloris HTTP/1.1\r\nHost: ${HOST}\r\nX-Slow: `,
          byte: 'a',
          everyMs: 250,
          untilMs: deadlineMs + 3_000,
        });
        await closeAll(result.tricklers);
      });
      for (const t of result.tricklers) {
        expect(statusesOf(t.received), 'a 408 for a head still arriving at the deadline').to.deep.equal([408]);
        expect(t.closedAtMs, 'closed by the sidecar at the deadline').to.be.below(deadlineMs + 2_000);
      }
    } finally {
      await mesh.apply(BASE_RESOURCES);
    }
  });

  const slowBodies = async (contentLength: number): Promise<void> => {
    const target = mesh.client;
    const port = target.outboundPort;
    let result: Awaited<ReturnType<typeof trickle>> = { tricklers: [], refused: 0, answered: 0 };
    await underAttack(
      mesh,
      {
        name: `slowloris bodies, 1,100 POSTs of ${contentLength} bytes`,
        target,
        detail: () =>
          `${result.tricklers.length} connections, ${result.refused} refused, ${result.answered} answered early`,
      },
      async () => {
        result = await trickle(port, {
          count: 1_100,
          opening: `POST /slow-body HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${contentLength}\r\n\r\n`,
          byte: 'b',
          everyMs: 100,
          untilMs: 4_000,
          replenish: true,
          maxTotal: 5_000,
        });
        await closeAll(result.tricklers);
      },
    );
  };

  it('1,100 POSTs trickling bodies of 60,000 bytes: legitimate load served, all released', async () => {
    await slowBodies(60_000);
  });

  it('1,100 POSTs trickling bodies of 100,000 bytes (also read before routing, up to 1 MiB): legitimate load served, all released', async () => {
    await slowBodies(100_000);
  });

  // A declared 2 MiB body is read up to 1 MiB before routing too: a trickler never gets to hold a slot.
  it('1,100 POSTs trickling bodies of 2 MiB (the first 1 MiB read before routing): legitimate load served, all released', async () => {
    await slowBodies(2 * 1024 * 1024);
  });
});
