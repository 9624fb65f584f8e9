// Hostile input: HTTP/2 floods on the sidecar's h2c listeners beside a legitimate load: rapid reset with reconnects
// (CVE-2023-44487), CONTINUATION, SETTINGS and PING floods. Each connection must be cut off before the flood ends.
import { expect } from 'chai';
import { repeatFor, underAttack } from './attack.ts';
import * as F from './h2-frames.ts';
import { type HostileMesh, h2Get, startHostileMesh } from './hostile-mesh.ts';
import { RawH2 } from './raw-h2.ts';

const HOST = 'web:8080';

interface FloodResult {
  refused: boolean;
  framesSent: number;
  goaway: { lastStreamId: number; errorCode: number } | undefined;
  goawayCodes: number[];
}

/**
 * One flooding connection: batches from `batch(i)` until the server refuses the connection (GOAWAY or close), the
 * frame budget is spent, or `ms` pass; then a short wait for the server's verdict.
 */
async function flood(
  port: number,
  opts: { maxFrames: number; ms: number; read?: boolean },
  batch: (i: number) => { bytes: Buffer; frames: number },
  prologue?: Buffer,
): Promise<FloodResult> {
  const c = await RawH2.connect(port);
  try {
    if (opts.read === false) c.socket.pause();
    if (prologue) await c.write(prologue);
    const deadline = Date.now() + opts.ms;
    let framesSent = 0;
    for (let i = 0; framesSent < opts.maxFrames && !c.refused && Date.now() < deadline; i++) {
      const b = batch(i);
      await c.write(b.bytes, 500);
      framesSent += b.frames;
    }
    if (opts.read === false) c.socket.resume();
    await c.until(() => c.refused, 2_000);
    return { refused: c.refused, framesSent, goaway: c.goaway, goawayCodes: c.goawayCodes };
  } finally {
    c.destroy();
  }
}

describe('hostile: HTTP/2 floods', function () {
  this.timeout(120_000);
  let mesh: HostileMesh;

  before(async () => {
    mesh = await startHostileMesh();
  });
  beforeEach(async () => mesh?.ensureUp());
  after(async () => {
    await mesh?.stop();
  });

  /** Runs flooding connections one after another for 2 s (at most `connections`), beside the legitimate load. */
  const attack = async (
    name: string,
    connections: number,
    oneConnection: (port: number) => Promise<FloodResult>,
  ): Promise<FloodResult[]> => {
    const port = mesh.client.outboundPort;
    const results: FloodResult[] = [];
    const detail = (): string => {
      const frames = results.reduce((n, r) => n + r.framesSent, 0);
      const refused = results.filter((r) => r.refused).length;
      const codes = [...new Set(results.map((r) => (r.goawayCodes.length > 0 ? r.goawayCodes.join('+') : 'close')))];
      const last = [...new Set(results.map((r) => r.goaway?.lastStreamId ?? -1))].slice(0, 5);
      return `${results.length} connections (${refused} refused: GOAWAY ${codes.join('/')}, last stream ids ${last.join('/')}), ${frames} frames`;
    };
    const opts = { name, target: mesh.client, detail };
    await underAttack(mesh, opts, async () => {
      await repeatFor(2_000, { parallel: 2, minCount: 2, maxCount: connections }, async () => {
        results.push(await oneConnection(port));
      });
    });
    expect(await h2Get(port, HOST, '/after-flood'), 'an HTTP/2 request after the flood').to.equal(200);
    return results;
  };

  // The premature-reset guard closes each connection after 250 early resets, and a stream reset in the read that opened
  // it starts nothing upstream: RSS grows ~60 MiB over these 30 connections (it grew 140-150 MiB while every reset
  // stream still opened an upstream connection), within the suite's 150 MiB bound.
  it('rapid reset with reconnects (HEADERS + RST_STREAM, CVE-2023-44487): connections cut off, service unharmed', async () => {
    const block = F.requestBlock('GET', HOST, '/rapid-reset');
    const results = await attack('h2 rapid reset (reconnecting)', 30, (port) =>
      flood(port, { maxFrames: 20_000, ms: 3_000 }, (i) => {
        const parts: Buffer[] = [];
        for (let k = 0; k < 100; k++) {
          const id = 1 + 2 * (i * 100 + k);
          parts.push(F.headers(id, block, { endStream: true }), F.rstStream(id, F.ErrorCode.CANCEL));
        }
        return { bytes: Buffer.concat(parts), frames: 200 };
      }),
    );
    for (const r of results) {
      expect(r.refused, `a connection resetting every stream at once is closed: ${JSON.stringify(r)}`).to.equal(true);
      // 10,000 streams were opened and reset; the server stopped taking new ones well before.
      if (r.goaway) expect(r.goaway.lastStreamId, JSON.stringify(r)).to.be.below(19_999);
      if (r.goaway) expect(r.goawayCodes[0], 'GOAWAY ENHANCE_YOUR_CALM').to.equal(F.ErrorCode.ENHANCE_YOUR_CALM);
    }
  });

  it('CONTINUATION flood (a header block that never ends): connection closed', async () => {
    const results = await attack('h2 CONTINUATION flood', 200, (port) =>
      flood(
        port,
        { maxFrames: 200_000, ms: 3_000 },
        () => {
          const parts: Buffer[] = [];
          for (let k = 0; k < 500; k++) parts.push(F.continuation(1, F.literal(`x-c${k % 10}`, 'v'.repeat(16))));
          return { bytes: Buffer.concat(parts), frames: 500 };
        },
        F.headers(1, F.requestBlock('GET', HOST, '/continuation'), { endStream: true, endHeaders: false }),
      ),
    );
    for (const r of results) expect(r.refused, JSON.stringify(r)).to.equal(true);
  });

  it('empty CONTINUATION flood: connection closed', async () => {
    const results = await attack('h2 empty CONTINUATION flood', 200, (port) =>
      flood(
        port,
        { maxFrames: 200_000, ms: 3_000 },
        () => {
          const parts: Buffer[] = [];
          for (let k = 0; k < 1_000; k++) parts.push(F.continuation(1, Buffer.alloc(0)));
          return { bytes: Buffer.concat(parts), frames: 1_000 };
        },
        F.headers(1, F.requestBlock('GET', HOST, '/continuation'), { endStream: true, endHeaders: false }),
      ),
    );
    for (const r of results) expect(r.refused, JSON.stringify(r)).to.equal(true);
  });

  it('SETTINGS flood from a client that never reads the ACKs: connection closed', async () => {
    const one = F.settings([[F.Setting.INITIAL_WINDOW_SIZE, 65_535]]);
    const results = await attack('h2 SETTINGS flood', 200, (port) =>
      flood(port, { maxFrames: 200_000, ms: 3_000, read: false }, () => ({
        bytes: Buffer.concat(Array.from({ length: 1_000 }, () => one)),
        frames: 1_000,
      })),
    );
    for (const r of results) expect(r.refused, JSON.stringify(r)).to.equal(true);
  });

  it('PING flood from a client that never reads the replies: connection closed', async () => {
    const one = F.ping(Buffer.from('hostile!'));
    const results = await attack('h2 PING flood', 200, (port) =>
      flood(port, { maxFrames: 200_000, ms: 3_000, read: false }, () => ({
        bytes: Buffer.concat(Array.from({ length: 1_000 }, () => one)),
        frames: 1_000,
      })),
    );
    for (const r of results) expect(r.refused, JSON.stringify(r)).to.equal(true);
  });
});
