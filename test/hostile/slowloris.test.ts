// Hostile input: slowloris beside a legitimate load: hundreds of connections trickling a request head (or a body) a
// byte at a time. They must neither starve legitimate requests nor outlive the request head deadline.
import type net from 'node:net';
import { expect } from 'chai';
import { inBatches, underAttack } from './attack.ts';
import { type HostileMesh, startHostileMesh } from './hostile-mesh.ts';
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

  // awaiting fix: a deadline for the whole request head (request_headers_timeout): today every byte restarts the
  // 60 s idle timer, so a head trickled a byte every 500 ms is never cut off
  it.skip('a head trickled a byte every 500 ms is cut off at the request head deadline (408, then closed)', async () => {
    const deadlineMs = 10_000; // the sidecar's default request_headers_timeout
    const port = mesh.client.outboundPort;
    const { tricklers } = await trickle(port, {
      count: 5,
      opening: `GET /slowloris HTTP/1.1\r\nHost: ${HOST}\r\nX-Slow: `,
      byte: 'a',
      everyMs: 500,
      untilMs: deadlineMs + 5_000,
    });
    try {
      for (const t of tricklers) {
        expect(t.closedAtMs, 'closed by the sidecar before the attacker gave up').to.be.a('number');
        expect(t.closedAtMs).to.be.below(deadlineMs + 3_000);
        expect(statusesOf(t.received)).to.deep.equal([408]);
      }
    } finally {
      await closeAll(tricklers);
    }
  });

  // awaiting fix: slow request bodies hold upstream slots (nginx buffers request bodies; here 1,100 trickled bodies
  // take the 1,024 circuit-breaker slots and every legitimate request gets 503 UO)
  it.skip('1,100 POSTs trickling their bodies: legitimate load served, all released after', async () => {
    const target = mesh.client;
    const port = target.outboundPort;
    let result: Awaited<ReturnType<typeof trickle>> = { tricklers: [], refused: 0, answered: 0 };
    await underAttack(
      mesh,
      {
        name: 'slowloris bodies, 1,100 POSTs',
        target,
        detail: () =>
          `${result.tricklers.length} connections, ${result.refused} refused, ${result.answered} answered early`,
      },
      async () => {
        result = await trickle(port, {
          count: 1_100,
          opening: `POST /slow-body HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 100000\r\n\r\n`,
          byte: 'b',
          everyMs: 100,
          untilMs: 4_000,
          replenish: true,
          maxTotal: 5_000,
        });
        await closeAll(result.tricklers);
      },
    );
  });
});
