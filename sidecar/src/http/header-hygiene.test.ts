// Header hygiene through live handlers (issue 11): one Date across hops, Content-Length lists, header counts, bare LF.
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

/** A complete HTTP/1.1 response (Content-Length or chunked body) has arrived. */
function responseComplete(raw: string): boolean {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const head = raw.slice(0, end + 2);
  if (/\r\ntransfer-encoding: *chunked\r\n/i.test(head)) return raw.endsWith('\r\n0\r\n\r\n');
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
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
    // Not events.once: it would reject on the 'error' a reset stream emits.
    await new Promise((resolve) => stream.once('close', resolve));
    if (stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) return { rstCode: stream.rstCode ?? -1 };
    return { ...(await response), body };
  } finally {
    session.close();
  }
}

/** A raw HTTP/1.1 origin: records each request (head and body) and answers with `answer(head)` (closing). */
async function rawOrigin(
  answer: (head: string) => string,
): Promise<{ port: number; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server = net.createServer((socket) => {
    let got = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      got += d;
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(got.slice(0, end + 2));
      if (got.length < end + 4 + (length === null ? 0 : Number(length[1]))) return;
      seen.push(got);
      socket.end(answer(got.slice(0, end)));
    });
    socket.on('error', () => undefined);
  });
  const port = await listen(server);
  return { port, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
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

  describe('Content-Length lists (RFC 9110 §8.6)', () => {
    let origin: Awaited<ReturnType<typeof rawOrigin>>;
    let proxy: ProxyUnderTest;

    before(async () => {
      origin = await rawOrigin((head) => {
        const asked = /^GET \/(\S*)/.exec(head)?.[1] ?? '';
        const length = asked === 'list' ? '5, 5' : asked === 'differing' ? '5, 6' : '5';
        const twice = asked === 'twice' ? 'content-length: 5\r\n' : '';
        return `HTTP/1.1 200 OK\r\ncontent-length: ${length}\r\n${twice}connection: close\r\n\r\nhello`;
      });
      const clusters = new TestClusters();
      clusters.add('origin', [origin.port]);
      proxy = await startProxy(routeConfig([vhost('v', ['*'], [route({ cluster: 'origin' })])]), clusters);
    });

    after(async () => {
      await proxy.close();
      await origin.close();
    });

    for (const [what, fields] of [
      ['a list of identical values', 'Content-Length: 5, 5\r\n'],
      ['the same value twice', 'Content-Length: 5\r\nContent-Length: 5\r\n'],
    ] as const) {
      it(`a request with ${what} goes upstream with one Content-Length: 5`, async () => {
        const before = origin.seen.length;
        const raw = await rawExchange(
          proxy.port,
          `POST /ok HTTP/1.1\r\nHost: a\r\n${fields}\r\nhello`,
          responseComplete,
        );
        expect(raw).to.match(/^HTTP\/1\.1 200 /);
        const sent = origin.seen[before] as string;
        expect(valuesOf(sent.replace(/^[^\r]*/, 'HTTP/1.1 000 x'), 'content-length')).to.deep.equal(['5']);
        expect(sent.endsWith('\r\n\r\nhello')).to.equal(true);
      });
    }

    it('a request with differing values gets 400', async () => {
      const raw = await rawExchange(proxy.port, 'POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello');
      expect(raw).to.match(/^HTTP\/1\.1 400 /);
    });

    for (const what of ['list', 'twice']) {
      it(`a response with identical values (${what}) reaches the client with one Content-Length: 5`, async () => {
        const raw = await rawExchange(proxy.port, `GET /${what} HTTP/1.1\r\nHost: a\r\n\r\n`, responseComplete);
        expect(raw).to.match(/^HTTP\/1\.1 200 /);
        expect(valuesOf(raw, 'content-length')).to.deep.equal(['5']);
        expect(raw.endsWith('\r\n\r\nhello')).to.equal(true);
      });
    }

    it('a response with differing values is an upstream protocol error (502 UPE)', async () => {
      const res = await send(proxy.port, '/differing');
      expect(res.status).to.equal(502);
      expect(res.headers['x-trellis-response-flags']).to.equal('UPE');
    });
  });

  describe('header count (max_headers_count, Envoy default 100)', () => {
    const fields = (n: number): string => Array.from({ length: n }, (_v, i) => `X-H${i}: v\r\n`).join('');
    const h2Headers = (n: number): http2.OutgoingHttpHeaders => {
      const h: http2.OutgoingHttpHeaders = { ':path': '/count', ':authority': 'a' };
      for (let i = 0; i < n; i++) h[`x-h${i}`] = 'v';
      return h;
    };

    it('HTTP/1.1: 100 header fields pass, 101 get 431', async () => {
      const ok = await rawExchange(inner.port, `GET /count HTTP/1.1\r\nHost: a\r\n${fields(99)}\r\n`, responseComplete);
      expect(ok).to.match(/^HTTP\/1\.1 200 /);
      const tooMany = await rawExchange(inner.port, `GET /count HTTP/1.1\r\nHost: a\r\n${fields(100)}\r\n`);
      expect(tooMany).to.match(/^HTTP\/1\.1 431 /);
      expect(valuesOf(tooMany, 'connection')).to.deep.equal(['close']);
    });

    it('HTTP/2: 100 header fields pass, 101 reset the stream', async () => {
      const ok = await h2Request(inner.port, h2Headers(100));
      expect('status' in ok && ok.status).to.equal(200);
      const tooMany = await h2Request(inner.port, h2Headers(101));
      expect(tooMany).to.deep.equal({ rstCode: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM });
    });

    it('a listener can set its own limit', async () => {
      const clusters = new TestClusters();
      clusters.add('app', [app.port]);
      const strict = await startProxy(routeConfig([vhost('v', ['*'], [route({ cluster: 'app' })])]), clusters, {
        maxHeadersCount: 5,
      });
      try {
        const ok = await rawExchange(strict.port, `GET / HTTP/1.1\r\nHost: a\r\n${fields(4)}\r\n`, responseComplete);
        expect(ok).to.match(/^HTTP\/1\.1 200 /);
        const tooMany = await rawExchange(strict.port, `GET / HTTP/1.1\r\nHost: a\r\n${fields(5)}\r\n`);
        expect(tooMany).to.match(/^HTTP\/1\.1 431 /);
        expect(await h2Request(strict.port, h2Headers(5))).to.have.property('status', 200);
        expect(await h2Request(strict.port, h2Headers(6))).to.have.property('rstCode');
      } finally {
        await strict.close();
      }
    });
  });

  describe('Server header (server_header_transformation)', () => {
    let branded: Awaited<ReturnType<typeof startHttpUpstream>>;
    const proxies: ProxyUnderTest[] = [];

    before(async () => {
      branded = await startHttpUpstream((req, res) => {
        if (req.url !== '/anonymous') res.setHeader('server', 'Express/4.18 (Ubuntu)');
        res.end('ok');
      });
    });

    after(async () => {
      for (const p of proxies) await p.close();
      await branded.close();
    });

    async function proxyWith(hcm: Parameters<typeof startProxy>[2]): Promise<ProxyUnderTest> {
      const clusters = new TestClusters();
      clusters.add('branded', [branded.port]);
      const routes = routeConfig([
        vhost(
          'v',
          ['*'],
          [route({ prefix: '/none', direct: { status: 404, body: 'no' } }), route({ cluster: 'branded' })],
        ),
      ]);
      const p = await startProxy(routes, clusters, hcm);
      proxies.push(p);
      return p;
    }

    it("OVERWRITE (Envoy's default): the app's Server never reaches the client; local replies carry ours too", async () => {
      const p = await proxyWith({ serverHeaderTransformation: 'overwrite', serverName: 'trellis' });
      expect((await send(p.port, '/')).headers.server).to.equal('trellis');
      expect((await send(p.port, '/anonymous')).headers.server).to.equal('trellis');
      expect((await send(p.port, '/none')).headers.server).to.equal('trellis');
    });

    it("APPEND_IF_ABSENT keeps the app's Server and adds ours when it has none", async () => {
      const p = await proxyWith({ serverHeaderTransformation: 'append-if-absent', serverName: 'orders' });
      expect((await send(p.port, '/')).headers.server).to.equal('Express/4.18 (Ubuntu)');
      expect((await send(p.port, '/anonymous')).headers.server).to.equal('orders');
    });

    it('PASS_THROUGH leaves it alone', async () => {
      const p = await proxyWith({ serverHeaderTransformation: 'pass-through', serverName: 'trellis' });
      expect((await send(p.port, '/')).headers.server).to.equal('Express/4.18 (Ubuntu)');
      expect((await send(p.port, '/anonymous')).headers.server).to.equal(undefined);
    });
  });

  it('a bare-LF request head gets 400 at once (not a 408 after the head timeout)', async () => {
    const started = Date.now();
    for (const head of ['GET / HTTP/1.1\nHost: a\n\n', 'GET / HTTP/1.1\r\nHost: a\n\n', '\nGET / HTTP/1.1\r\n']) {
      const out = await rawExchange(inner.port, head);
      expect(out, JSON.stringify(head)).to.match(/^HTTP\/1\.1 400 /);
    }
    expect(Date.now() - started).to.be.below(2000);
    expect((await send(inner.port, '/after')).status).to.equal(200);
  });

  it('sanity: the echo app answers through both hops', async () => {
    const e = echoed(await send(outer.port, '/x'));
    expect(e.url).to.equal('/x');
  });
});
