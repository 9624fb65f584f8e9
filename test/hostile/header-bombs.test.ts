// Hostile input: header bombs beside a legitimate load: too many headers, huge headers, over HTTP/1.1 and HTTP/2
// (CONTINUATION-split blocks, an HPACK dynamic-table bomb). None may reach the app; all are refused promptly.
import http2 from 'node:http2';
import net from 'node:net';
import { expect } from 'chai';
import { repeatFor, underAttack } from './attack.ts';
import * as F from './h2-frames.ts';
import { type HostileMesh, startHostileMesh } from './hostile-mesh.ts';
import { rawExchange } from './raw-h1.ts';
import { ATTACKER_ADDRESS, RawH2 } from './raw-h2.ts';

const HOST = 'web:8080';
const BOUNDS = { parallel: 4, minCount: 20, maxCount: 400 };

function h1Head(path: string, fields: string[]): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\n${fields.join('\r\n')}\r\n\r\n`;
}

const many = (n: number, name = 'x-h'): string[] => Array.from({ length: n }, (_, i) => `${name}${i}: v`);

/** An HTTP/2 request with these extra headers through node's client: the status, or 0 when the stream was reset. */
function h2Request(port: number, extra: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${port}`, {
      createConnection: () => net.connect({ port, host: '127.0.0.1', localAddress: ATTACKER_ADDRESS }),
    });
    const finish = (status: number): void => {
      clearTimeout(timer);
      session.destroy();
      resolve(status);
    };
    const timer = setTimeout(() => finish(-1), 5_000);
    session.on('error', () => finish(0));
    const req = session.request({ ':path': '/bomb-h2', ':authority': HOST, ...extra });
    let status = 0;
    req.on('response', (h) => {
      status = Number(h[':status']);
    });
    req.on('error', () => finish(0));
    req.on('close', () => finish(status));
    req.resume();
    req.end();
  });
}

describe('hostile: header bombs', function () {
  this.timeout(120_000);
  let mesh: HostileMesh;

  before(async () => {
    mesh = await startHostileMesh();
  });
  beforeEach(async () => mesh?.ensureUp());
  after(async () => {
    await mesh?.stop();
  });

  const reachedApp = (prefix: string): string[] => mesh.web.paths.filter((p) => p.startsWith(prefix));

  const h1Cases: [string, (i: number) => string, number][] = [
    ['150 request headers (over max_headers_count 100)', (i) => h1Head(`/bomb-count-${i}`, many(150)), 431],
    ['2,000 tiny request headers', (i) => h1Head(`/bomb-tiny-${i}`, many(2_000, 'h')), 431],
    ['one 128 KiB header', (i) => h1Head(`/bomb-huge-${i}`, [`x-huge: ${'a'.repeat(128 * 1024)}`]), 431],
    [
      'a 1 MiB head of 8 KiB headers',
      (i) =>
        h1Head(
          `/bomb-mib-${i}`,
          many(128).map((h) => h + 'b'.repeat(8_192)),
        ),
      431,
    ],
  ];

  for (const listener of ['outbound', 'inbound'] as const) {
    for (const [what, build, status] of h1Cases) {
      it(`HTTP/1.1 ${what} (${listener}): ${status}, connection closed, nothing reaches the app`, async () => {
        const target = listener === 'outbound' ? mesh.client : mesh.webSidecar;
        const port = listener === 'outbound' ? target.outboundPort : target.inboundPort;
        const replies: { statuses: number[]; closed: boolean; sentBytes: number }[] = [];
        await underAttack(mesh, { name: `HTTP/1.1 ${what} (${listener})`, target, load: { port } }, async () => {
          await repeatFor(1_000, BOUNDS, async (i) => {
            const head = build(i);
            const r = await rawExchange(port, head);
            replies.push({ statuses: r.statuses, closed: r.closedByServer, sentBytes: head.length });
          });
        });
        for (const r of replies) {
          // A head larger than the socket buffers may still be on its way when the 431 goes out and the sidecar
          // closes: the kernel then resets the connection and the client can lose the 431 it had not read yet.
          if (r.statuses.length === 0 && r.sentBytes > 256 * 1024) expect(r.closed).to.equal(true);
          else expect(r.statuses).to.deep.equal([status]);
          expect(r.closed).to.equal(true);
        }
        expect(reachedApp('/bomb-')).to.deep.equal([]);
      });
    }
  }

  it('HTTP/2 with 150 request headers: refused (431 or a reset stream), nothing reaches the app', async () => {
    const port = mesh.client.outboundPort;
    const extra = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`x-h${i}`, 'v']));
    const statuses: number[] = [];
    await underAttack(mesh, { name: 'HTTP/2 150 request headers', target: mesh.client }, async () => {
      await repeatFor(1_000, BOUNDS, async () => {
        statuses.push(await h2Request(port, extra));
      });
    });
    for (const s of statuses) expect([0, 431], `status ${s}`).to.include(s);
    expect(reachedApp('/bomb-h2')).to.deep.equal([]);
  });

  /** Sends one raw header block (split into 16 KiB HEADERS + CONTINUATION frames) and waits for the verdict. */
  const rawBlock = async (port: number, block: Buffer): Promise<string> => {
    const c = await RawH2.connect(port);
    try {
      const size = 16_384;
      const frames: Buffer[] = [];
      for (let at = 0; at < block.length; at += size) {
        const part = block.subarray(at, at + size);
        const last = at + size >= block.length;
        frames.push(
          at === 0 ? F.headers(1, part, { endStream: true, endHeaders: last }) : F.continuation(1, part, last),
        );
      }
      await c.write(Buffer.concat(frames));
      const decided = await c.until(() => c.resets.has(1) || c.answered.has(1) || c.refused, 5_000);
      if (!decided) return 'no answer within 5 s';
      const verdict = c.answered.has(1) ? 'answered' : c.resets.has(1) ? 'reset' : 'connection refused';
      await c.closeGracefully();
      return verdict;
    } finally {
      c.destroy();
    }
  };

  for (const [what, block] of [
    [
      'a 256 KiB header block in CONTINUATION frames',
      F.requestBlock('GET', HOST, '/bomb-h2', [['x-huge', 'a'.repeat(256 * 1024)]]),
    ],
    [
      'an HPACK bomb (one 4 KiB dynamic-table entry referenced 4,000 times)',
      Buffer.concat([
        F.requestBlock('GET', HOST, '/bomb-h2'),
        F.literalIndexed('x-bomb', 'z'.repeat(4_000)),
        ...Array.from({ length: 4_000 }, () => F.indexed(62)),
      ]),
    ],
  ] as const) {
    it(`HTTP/2 ${what}: refused, nothing reaches the app`, async () => {
      const port = mesh.client.outboundPort;
      const verdicts: string[] = [];
      const detail = (): string => {
        const counts: Record<string, number> = {};
        for (const v of verdicts) counts[v] = (counts[v] ?? 0) + 1;
        return JSON.stringify(counts);
      };
      await underAttack(mesh, { name: `HTTP/2 ${what}`, target: mesh.client, detail }, async () => {
        await repeatFor(1_000, BOUNDS, async () => {
          verdicts.push(await rawBlock(port, block));
        });
      });
      // An answer is fine only as a refusal (431): the request itself must not reach the app.
      for (const v of verdicts) expect(['reset', 'connection refused', 'answered']).to.include(v);
      expect(reachedApp('/bomb-h2')).to.deep.equal([]);
    });
  }
});
