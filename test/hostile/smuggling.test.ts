// Hostile input: HTTP/1.1 request smuggling variants against the outbound and inbound listeners, beside a legitimate
// load. Each must get a 400 and a closed connection, and the request hidden behind it must never reach the app.
import { expect } from 'chai';
import { repeatFor, underAttack } from './attack.ts';
import { type HostileMesh, startHostileMesh } from './hostile-mesh.ts';
import { rawExchange } from './raw-h1.ts';

const HOST = 'web:8080';
const SMUGGLED = (tag: string) => `GET /smuggled-${tag} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;

/** [name, raw request (with a smuggled request behind it where the variant allows one)]. */
const VARIANTS: [string, (tag: string) => string][] = [
  [
    'CL.TE (Content-Length then Transfer-Encoding)',
    (t) =>
      `POST /front HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED(t)}`,
  ],
  [
    'TE.CL (Transfer-Encoding then Content-Length)',
    (t) =>
      `POST /front HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\n${SMUGGLED(t)}\r\n0\r\n\r\n`,
  ],
  [
    'duplicate differing Content-Length',
    (t) => `POST /front HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n${SMUGGLED(t)}`,
  ],
  [
    'obs-fold (a folded Transfer-Encoding)',
    (t) =>
      `POST /front HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 5\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n${SMUGGLED(t)}`,
  ],
  [
    'bare LF inside a CRLF head',
    (t) =>
      `POST /front HTTP/1.1\r\nHost: ${HOST}\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED(t)}`,
  ],
  [
    'Transfer-Encoding: chunked, identity',
    (t) =>
      `POST /front HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SMUGGLED(t)}`,
  ],
  [
    'Transfer-Encoding: identity only (not a request coding)',
    (t) => `POST /front HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: identity\r\n\r\n${SMUGGLED(t)}`,
  ],
  [
    'invalid chunk size (not hex)',
    (t) => `POST /front HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n${SMUGGLED(t)}`,
  ],
  [
    'invalid chunk size (negative)',
    (t) => `POST /front HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n\r\n${SMUGGLED(t)}`,
  ],
  [
    'invalid chunk size (0x prefix)',
    (t) =>
      `POST /front HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n${SMUGGLED(t)}`,
  ],
  [
    'invalid chunk size (overflowing 2^64)',
    (t) =>
      `POST /front HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n${SMUGGLED(t)}`,
  ],
  [
    'chunk longer than its size',
    (t) =>
      `POST /front HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nhello\r\n0\r\n\r\n${SMUGGLED(t)}`,
  ],
];

/** Each attack: its variants over and over on 8 connections at a time for 1.5 s (at least 30, at most 3,000). */
const ATTACK_MS = 1_500;
const BOUNDS = { parallel: 8, minCount: 30, maxCount: 3_000 };

describe('hostile: HTTP/1.1 request smuggling', function () {
  this.timeout(120_000);
  let mesh: HostileMesh;

  before(async () => {
    mesh = await startHostileMesh();
  });
  beforeEach(async () => mesh?.ensureUp());
  after(async () => {
    await mesh?.stop();
  });

  const attackWith = async (listener: 'outbound' | 'inbound', variants: typeof VARIANTS, name: string) => {
    const target = listener === 'outbound' ? mesh.client : mesh.webSidecar;
    const port = listener === 'outbound' ? target.outboundPort : target.inboundPort;
    const replies: { variant: string; statuses: number[]; closed: boolean }[] = [];
    await underAttack(mesh, { name, target, load: { port } }, async () => {
      await repeatFor(ATTACK_MS, BOUNDS, async (i) => {
        const [variant, build] = variants[i % variants.length]!;
        const r = await rawExchange(port, build(`${listener}-${i}`));
        replies.push({ variant, statuses: r.statuses, closed: r.closedByServer });
      });
    });
    for (const r of replies) {
      expect(r.statuses, `${r.variant} on the ${listener} listener`).to.deep.equal([400]);
      expect(r.closed, `${r.variant}: the connection is closed after the 400`).to.equal(true);
    }
    const smuggled = mesh.web.paths.filter((p) => p.startsWith('/smuggled-'));
    expect(smuggled, 'smuggled requests that reached the app').to.deep.equal([]);
  };

  for (const variant of VARIANTS) {
    it(`${variant[0]}: 400, connection closed, nothing smuggled (outbound)`, async () => {
      await attackWith('outbound', [variant], `smuggling: ${variant[0]}`);
    });
  }

  it('every variant against the inbound listener: 400, closed, nothing smuggled', async () => {
    await attackWith('inbound', VARIANTS, 'smuggling: all variants (inbound)');
  });

  it('a bare-LF request head (no CR at all) gets 400 at once, not a 408 after the head timeout', async () => {
    const port = mesh.client.outboundPort;
    const replies: { statuses: number[]; elapsedMs: number }[] = [];
    await underAttack(mesh, { name: 'smuggling: bare-LF request head', target: mesh.client }, async () => {
      await repeatFor(ATTACK_MS, BOUNDS, async (i) => {
        const r = await rawExchange(port, `GET /bare-lf-${i} HTTP/1.1\nHost: ${HOST}\n\n`, 3_000);
        replies.push({ statuses: r.statuses, elapsedMs: r.elapsedMs });
      });
    });
    for (const r of replies) expect(r.statuses, `reply after ${r.elapsedMs} ms`).to.deep.equal([400]);
  });
});
