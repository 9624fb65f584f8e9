// Hostile input: HTTP/2 stream lifecycle attacks beside a legitimate load: 1,100 open streams then a disconnect, and
// requests reset right after their HEADERS (the local-reply-to-a-reset-stream crash of issue 11).
import { expect } from 'chai';
import { repeatFor, underAttack } from './attack.ts';
import * as F from './h2-frames.ts';
import { type HostileMesh, h2Get, startHostileMesh } from './hostile-mesh.ts';
import { RawH2 } from './raw-h2.ts';

const HOST = 'web:8080';

describe('hostile: HTTP/2 stream lifecycle', function () {
  this.timeout(120_000);
  let mesh: HostileMesh;

  before(async () => {
    mesh = await startHostileMesh();
  });
  beforeEach(async () => mesh?.ensureUp());
  after(async () => {
    await mesh?.stop();
  });

  it('advertises SETTINGS_MAX_CONCURRENT_STREAMS (at most 100) on the h2c listeners', async () => {
    for (const port of [mesh.client.outboundPort, mesh.webSidecar.inboundPort]) {
      const c = await RawH2.connect(port);
      try {
        await c.until(() => c.serverSettings.size > 0 || c.closed, 3_000);
        const max = c.serverSettings.get(F.Setting.MAX_CONCURRENT_STREAMS);
        expect(max, `server SETTINGS: ${JSON.stringify([...c.serverSettings])}`).to.be.a('number');
        expect(max).to.be.within(1, 100);
      } finally {
        c.destroy();
      }
    }
  });

  it('1,100 open POST streams on one connection, then a disconnect: legitimate load served, everything released', async () => {
    const port = mesh.client.outboundPort;
    let c: RawH2 | undefined;
    const detail = (): string =>
      c === undefined
        ? 'not connected'
        : `answered ${c.answered.size}, reset ${c.resets.size} (codes ${[...new Set(c.resets.values())].join('/')})`;
    await underAttack(
      mesh,
      { name: 'h2 stream exhaustion (1,100 streams) then disconnect', target: mesh.client, detail },
      async () => {
        c = await RawH2.connect(port);
        const conn = c;
        const block = F.requestBlock('POST', HOST, '/exhaust', [['content-type', 'application/octet-stream']]);
        const frames: Buffer[] = [];
        for (let i = 0; i < 1_100; i++) frames.push(F.headers(1 + 2 * i, block, { endStream: false }));
        await conn.write(Buffer.concat(frames));
        // Hold them for 1.5 s beside the legitimate load (unless the sidecar closes the connection), then vanish.
        await conn.until(() => conn.closed, 1_500);
        conn.destroy();
        await conn.done;
      },
    );
    expect(await h2Get(port, HOST, '/after-exhaustion')).to.equal(200);
  });

  for (const [what, authority] of [
    ['routed upstream', HOST],
    ['answered locally (no route)', 'nowhere.invalid:1'],
  ] as const) {
    it(`HEADERS(POST, no END_STREAM) then RST_STREAM(CANCEL), ${what}: the sidecar stays up`, async () => {
      const block = F.requestBlock('POST', authority, '/post-then-cancel');
      let sent = 0;
      for (const listener of ['outbound', 'inbound'] as const) {
        const target = listener === 'outbound' ? mesh.client : mesh.webSidecar;
        const port = listener === 'outbound' ? target.outboundPort : target.inboundPort;
        await underAttack(
          mesh,
          { name: `h2 POST then RST_STREAM(CANCEL), ${what} (${listener})`, target, load: { port } },
          async () => {
            await repeatFor(1_000, { parallel: 4, minCount: 20, maxCount: 400 }, async () => {
              const c = await RawH2.connect(port);
              try {
                const parts: Buffer[] = [];
                for (let k = 0; k < 10; k++) {
                  const id = 1 + 2 * k;
                  parts.push(F.headers(id, block, { endStream: false }));
                  if (k % 2 === 1) parts.push(F.data(id, 'partial body'));
                  parts.push(F.rstStream(id, F.ErrorCode.CANCEL));
                }
                await c.write(Buffer.concat(parts));
                sent += 10;
                // A PING round trip: the server has processed every frame before it.
                await c.write(F.ping(Buffer.from('synced!!')));
                await c.until(() => (c.counts.get(F.FrameType.PING) ?? 0) > 0 || c.closed, 2_000);
                await c.closeGracefully();
              } finally {
                c.destroy();
              }
            });
          },
        );
        expect(await h2Get(port, HOST, '/after-cancel'), `an HTTP/2 request after the attack (${listener})`).to.equal(
          200,
        );
      }
      expect(sent).to.be.greaterThan(0);
    });
  }

  it('h2c clients that vanish (FIN without GOAWAY, request bodies left open): connections and streams released', async () => {
    const port = mesh.client.outboundPort;
    let n = 0;
    await underAttack(mesh, { name: 'h2 clients vanishing mid-request', target: mesh.client }, async () => {
      await repeatFor(1_500, { parallel: 4, minCount: 20, maxCount: 2_000 }, async (i) => {
        const c = await RawH2.connect(port);
        try {
          if (i % 2 === 0)
            await c.write(F.headers(1, F.requestBlock('POST', HOST, '/left-open'), { endStream: false }));
          await c.write(F.ping(Buffer.from('synced!!')));
          await c.until(() => (c.counts.get(F.FrameType.PING) ?? 0) > 0 || c.closed, 2_000);
          n++;
        } finally {
          c.socket.end();
        }
      });
    });
    expect(n).to.be.greaterThan(0);
  });

  // A pooled upstream connection used to go back to its pool paused (a response chunk for a client that had left
  // paused it): the next request on it never read its response.
  it('h2c clients that reset or vanish while responses are in flight: no legitimate request stalls', async () => {
    const port = mesh.client.outboundPort;
    let connections = 0;
    await underAttack(
      mesh,
      { name: 'h2 clients leaving mid-response', target: mesh.client, detail: () => `${connections} connections` },
      async () => {
        await repeatFor(3_000, { parallel: 1, minCount: 10, maxCount: 3_000 }, async (i) => {
          const c = await RawH2.connect(port);
          connections++;
          const gets: Buffer[] = [];
          for (let k = 0; k < 5; k++)
            gets.push(F.headers(1 + 2 * k, F.requestBlock('GET', HOST, `/leave-${i}-${k}`), { endStream: true }));
          await c.write(Buffer.concat(gets));
          // Leave while the responses are on their way: by reset, or by vanishing.
          await new Promise((r) => setTimeout(r, i % 4));
          if (i % 2 === 0) {
            await c.write(Buffer.concat([1, 3, 5, 7, 9].map((id) => F.rstStream(id))));
            await c.closeGracefully();
          }
          c.destroy();
        });
      },
    );
  });
});
