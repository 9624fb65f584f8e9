// Header hygiene through live handlers (issue 11): one Date across hops, Content-Length lists, header counts, bare LF.
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { expect } from 'chai';
import {
  echoed,
  echoHandler,
  listen,
  type ProxyUnderTest,
  rawExchange,
  route,
  routeConfig,
  send,
  startHttpUpstream,
  startProxy,
  TestClusters,
  vhost,
} from './test-harness.ts';

const ORIGIN_DATE = 'Tue, 01 Jan 2019 00:00:00 GMT';

/** The header lines of the first response head in `raw` (lower-case names), in order. */
function headLines(raw: string): [string, string][] {
  const end = raw.indexOf('\r\n\r\n');
  return raw
    .slice(0, end < 0 ? raw.length : end)
    .split('\r\n')
    .slice(1)
    .map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
    });
}

function valuesOf(raw: string, name: string): string[] {
  return headLines(raw)
    .filter(([n]) => n === name)
    .map(([, v]) => v);
}

/** A complete HTTP/1.1 response with a Content-Length body has arrived. */
function responseComplete(raw: string): boolean {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(raw.slice(0, end + 2));
  return length !== null && raw.length >= end + 4 + Number(length[1]);
}

/** One HTTP/2 request (h2c prior knowledge); the raw response header pairs, or the stream's reset code. */
async function h2Request(
  port: number,
  headers: http2.OutgoingHttpHeaders,
): Promise<{ raw: string[]; status: number; body: string } | { rstCode: number }> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  try {
    const stream = session.request(headers, { endStream: true });
    stream.on('error', () => undefined);
    const response = new Promise<{ raw: string[]; status: number }>((resolve) =>
      stream.once('response', (h: http2.IncomingHttpHeaders, _flags: number, raw: string[]) =>
        resolve({ raw, status: Number(h[':status']) }),
      ),
    );
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      body += d;
    });
    await once(stream, 'close');
    if (stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) return { rstCode: stream.rstCode ?? -1 };
    return { ...(await response), body };
  } finally {
    session.close();
  }
}

describe('header hygiene', () => {
  let app: Awaited<ReturnType<typeof startHttpUpstream>>;
  let dated: Awaited<ReturnType<typeof startHttpUpstream>>;
  let bare: net.Server;
  let inner: ProxyUnderTest;
  let outer: ProxyUnderTest;

  before(async () => {
    app = await startHttpUpstream(echoHandler('app'));
    dated = await startHttpUpstream((_req, res) => {
      res.setHeader('date', ORIGIN_DATE);
      res.end('dated');
    });
    // An origin that sends no Date at all.
    bare = net.createServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\nbare'));
    });
    const barePort = await listen(bare);
    const clusters = new TestClusters();
    clusters.add('app', [app.port]);
    clusters.add('dated', [dated.port]);
    clusters.add('bare', [barePort]);
    inner = await startProxy(
      routeConfig([
        vhost(
          'v',
          ['*'],
          [
            route({ prefix: '/dated', cluster: 'dated' }),
            route({ prefix: '/bare', cluster: 'bare' }),
            route({ prefix: '/', cluster: 'app' }),
          ],
        ),
      ]),
      clusters,
    );
    // A second hop in front of the first, as an outbound sidecar in front of a peer's inbound one.
    const hops = new TestClusters();
    hops.add('inner', [inner.port]);
    outer = await startProxy(routeConfig([vhost('v', ['*'], [route({ cluster: 'inner' })])]), hops);
  });

  after(async () => {
    await outer.close();
    await inner.close();
    await app.close();
    await dated.close();
    await new Promise<void>((resolve) => bare.close(() => resolve()));
  });

  describe('Date', () => {
    it("keeps the origin's Date instead of adding a second one", async () => {
      const raw = await rawExchange(inner.port, 'GET /dated HTTP/1.1\r\nHost: a\r\n\r\n', responseComplete);
      expect(valuesOf(raw, 'date')).to.deep.equal([ORIGIN_DATE]);
    });

    it('adds a Date when the origin sent none', async () => {
      const raw = await rawExchange(inner.port, 'GET /bare HTTP/1.1\r\nHost: a\r\n\r\n', responseComplete);
      const dates = valuesOf(raw, 'date');
      expect(dates).to.have.length(1);
      expect(Date.parse(dates[0] as string)).to.be.closeTo(Date.now(), 5000);
    });

    it('one Date after two HTTP/1.1 hops', async () => {
      const raw = await rawExchange(outer.port, 'GET /dated HTTP/1.1\r\nHost: a\r\n\r\n', responseComplete);
      expect(valuesOf(raw, 'date')).to.deep.equal([ORIGIN_DATE]);
    });

    it('an h2c client through two hops to an HTTP/1.1 app gets one Date (no single-value crash)', async () => {
      const res = await h2Request(outer.port, { ':path': '/dated', ':authority': 'a' });
      if ('rstCode' in res) throw new Error(`stream reset ${res.rstCode}`);
      expect(res.status).to.equal(200);
      expect(res.body).to.equal('dated');
      const dates = res.raw.filter((_v, i) => i % 2 === 0 && res.raw[i] === 'date');
      expect(dates).to.have.length(1);
      // And the app that sets its own Date (node's http server) through both hops.
      const viaApp = await h2Request(outer.port, { ':path': '/', ':authority': 'a' });
      if ('rstCode' in viaApp) throw new Error(`stream reset ${viaApp.rstCode}`);
      expect(viaApp.status).to.equal(200);
      expect(viaApp.raw.filter((v, i) => i % 2 === 0 && v === 'date')).to.have.length(1);
    });
  });

  it('sanity: the echo app answers through both hops', async () => {
    const e = echoed(await send(outer.port, '/x'));
    expect(e.url).to.equal('/x');
  });
});
