// Malformed HTTP/1.1 gets a 4xx and a closed connection; the handler keeps serving everyone else.
import { expect } from 'chai';
import {
  echoHandler,
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

describe('http handler: malformed requests', () => {
  let web: Awaited<ReturnType<typeof startHttpUpstream>>;
  let proxy: ProxyUnderTest;

  before(async () => {
    web = await startHttpUpstream(echoHandler('web'));
    const clusters = new TestClusters();
    clusters.add('web', [web.port]);
    proxy = await startProxy(routeConfig([vhost('v', ['*'], [route({ cluster: 'web' })])]), clusters, {
      maxRequestHeadersKb: 4,
    });
  });

  after(async () => {
    await proxy.close();
    await web.close();
  });

  const statusOf = async (raw: string): Promise<number> => {
    const out = await rawExchange(proxy.port, raw);
    const m = /^HTTP\/1\.1 (\d{3})/.exec(out);
    return m === null ? 0 : Number(m[1]);
  };

  const cases: [string, string, number][] = [
    ['a bad request line', 'GARBAGE\r\n\r\n', 400],
    ['an invalid method token', 'G@T / HTTP/1.1\r\nHost: a\r\n\r\n', 400],
    [
      'conflicting Content-Length',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      400,
    ],
    [
      'Transfer-Encoding with Content-Length',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
    ],
    ['a bad chunk size', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400],
    ['a header without a colon', 'GET / HTTP/1.1\r\nHost: a\r\nBroken header\r\n\r\n', 400],
    ['a missing Host', 'GET / HTTP/1.1\r\n\r\n', 400],
    ['two Host headers', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
    ['oversized headers', `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(8 * 1024)}\r\n\r\n`, 431],
  ];

  for (const [what, raw, status] of cases) {
    it(`answers ${status} to ${what} and keeps serving`, async () => {
      expect(await statusOf(raw)).to.equal(status);
      const ok = await send(proxy.port, '/after');
      expect(ok.status).to.equal(200);
    });
  }

  it('closes the connection after a malformed request', async () => {
    const out = await rawExchange(proxy.port, 'GARBAGE\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(out.match(/HTTP\/1\.1/g)).to.have.length(1);
    expect(out.toLowerCase()).to.include('connection: close');
  });

  it('counts them as downstream 4xx', () => {
    expect(proxy.stats.counter('http.test.downstream_rq_4xx')).to.be.greaterThan(cases.length - 1);
  });
});
