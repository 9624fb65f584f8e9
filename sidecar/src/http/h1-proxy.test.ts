// HTTP/1.1 through the handler: keep-alive, chunked and pipelined requests, absolute-form, host routing, direct and error replies.
import { expect } from 'chai';
import { Agent, request } from 'undici';
import {
  echoed,
  echoHandler,
  type ProxyUnderTest,
  parseRawResponses,
  rawExchange,
  route,
  routeConfig,
  send,
  startHttpUpstream,
  startProxy,
  TestClusters,
  vhost,
} from './test-harness.ts';

describe('http handler: HTTP/1.1 forwarding', () => {
  let web: Awaited<ReturnType<typeof startHttpUpstream>>;
  let api: Awaited<ReturnType<typeof startHttpUpstream>>;
  let proxy: ProxyUnderTest;
  const agent = new Agent({ connections: 1, pipelining: 1 });

  before(async () => {
    web = await startHttpUpstream(echoHandler('web'));
    api = await startHttpUpstream(echoHandler('api'));
    const clusters = new TestClusters();
    clusters.add('web', [web.port]);
    clusters.add('api', [api.port]);
    const routes = routeConfig([
      vhost('api', ['api', 'api.internal:8080'], [route({ cluster: 'api' })]),
      vhost(
        'web',
        ['*'],
        [
          route({ name: 'direct', exact: '/healthz', direct: { status: 200, body: 'ok' } }),
          route({ name: 'missing', prefix: '/missing', cluster: 'nope' }),
          route({ prefix: '/', cluster: 'web' }),
        ],
      ),
      vhost('none', ['no-routes.local'], []),
    ]);
    proxy = await startProxy(routes, clusters);
  });

  after(async () => {
    await agent.close();
    await proxy.close();
    await web.close();
    await api.close();
  });

  it('forwards a GET and streams the response back', async () => {
    const res = await send(proxy.port, '/hello?x=1', { headers: { host: 'shop.local' } });
    expect(res.status).to.equal(200);
    const e = echoed(res);
    expect(e.backend).to.equal('web');
    expect(e.url).to.equal('/hello?x=1');
    expect(e.headers.host).to.equal('shop.local');
    expect(res.headers['x-backend']).to.equal('web');
  });

  it('keeps the downstream connection alive across requests', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const res = await request(`http://127.0.0.1:${proxy.port}/k${i}`, { dispatcher: agent });
      expect(res.statusCode).to.equal(200);
      const body = (await res.body.json()) as { url: string };
      expect(body.url).to.equal(`/k${i}`);
      seen.add(res.headers.connection as string);
    }
    expect([...seen]).to.deep.equal(['keep-alive']);
    expect(proxy.handler.activeConnections()).to.be.greaterThan(0);
  });

  it('forwards a chunked request body and answers', async () => {
    const raw =
      'POST /upload HTTP/1.1\r\nHost: shop.local\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
      '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
    const [res] = parseRawResponses(await rawExchange(proxy.port, raw));
    expect(res?.status).to.equal(200);
    const body = JSON.parse(res?.body ?? '') as { body: string; headers: Record<string, string> };
    expect(body.body).to.equal('hello world');
    // Re-framed upstream: chunked while streaming, or a Content-Length when the whole body was already in.
    expect(body.headers['transfer-encoding'] ?? body.headers['content-length']).to.be.oneOf(['chunked', '11']);
  });

  it('answers pipelined requests in order on one connection', async () => {
    const one = 'GET /p1 HTTP/1.1\r\nHost: a\r\n\r\n';
    const two = 'GET /p2 HTTP/1.1\r\nHost: api\r\n\r\n';
    const three = 'GET /p3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';
    const out = await rawExchange(proxy.port, one + two + three);
    const order = [...out.matchAll(/"url":"(\/p\d)"/g)].map((m) => m[1]);
    expect(order).to.deep.equal(['/p1', '/p2', '/p3']);
    expect([...out.matchAll(/"backend":"(\w+)"/g)].map((m) => m[1])).to.deep.equal(['web', 'api', 'web']);
  });

  it('answers 100-continue, then forwards the body', async () => {
    const out = await rawExchange(
      proxy.port,
      'POST /c HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi',
    );
    expect(out.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 ')).to.equal(true);
    expect(out).to.include('"body":"hi"');
  });

  it('HTTP/1.0 without keep-alive gets Connection: close and a closed connection', async () => {
    const out = await rawExchange(proxy.port, 'GET /old HTTP/1.0\r\nHost: a\r\n\r\n');
    const [res] = parseRawResponses(out);
    expect(res?.status).to.equal(200);
    expect(res?.headers.connection).to.equal('close');
  });

  it('routes absolute-form targets by the URL authority and sends origin-form upstream', async () => {
    const [res] = parseRawResponses(
      await rawExchange(
        proxy.port,
        'GET http://api.internal:8080/orders?id=7 HTTP/1.1\r\nHost: ignored.example\r\nConnection: close\r\n\r\n',
      ),
    );
    expect(res?.status).to.equal(200);
    const body = JSON.parse(res?.body ?? '') as { backend: string; url: string; headers: Record<string, string> };
    expect(body.backend).to.equal('api');
    expect(body.url).to.equal('/orders?id=7');
    expect(body.headers.host).to.equal('api.internal:8080');
  });

  it('selects virtual hosts by Host, ignoring a port the domain does not list', async () => {
    expect(echoed(await send(proxy.port, '/', { headers: { host: 'api' } })).backend).to.equal('api');
    expect(echoed(await send(proxy.port, '/', { headers: { host: 'api:9999' } })).backend).to.equal('api');
    expect(echoed(await send(proxy.port, '/', { headers: { host: 'API.internal:8080' } })).backend).to.equal('api');
    expect(echoed(await send(proxy.port, '/', { headers: { host: 'other' } })).backend).to.equal('web');
  });

  it('answers direct responses without an upstream', async () => {
    const res = await send(proxy.port, '/healthz');
    expect(res.status).to.equal(200);
    expect(res.body).to.equal('ok');
    expect(res.headers['x-trellis-response-flags']).to.equal(undefined);
  });

  it('404 NR when no route matches, 503 NC for an unknown cluster', async () => {
    const nr = await send(proxy.port, '/', { headers: { host: 'no-routes.local' } });
    expect(nr.status).to.equal(404);
    expect(nr.headers['x-trellis-response-flags']).to.equal('NR');
    const nc = await send(proxy.port, '/missing');
    expect(nc.status).to.equal(503);
    expect(nc.headers['x-trellis-response-flags']).to.equal('NC');
  });

  it('counts requests by class in http.<prefix>.* and cluster.<name>.*', async () => {
    const before = proxy.stats.counter('http.test.downstream_rq_total');
    await send(proxy.port, '/count');
    expect(proxy.stats.counter('http.test.downstream_rq_total')).to.equal(before + 1);
    expect(proxy.stats.counter('http.test.downstream_rq_2xx')).to.be.greaterThan(0);
    expect(proxy.stats.counter('http.test.downstream_rq_4xx')).to.be.greaterThan(0);
    expect(proxy.stats.counter('cluster.web.upstream_rq_total')).to.be.greaterThan(0);
    expect(proxy.stats.counter('cluster.web.upstream_rq_2xx')).to.be.greaterThan(0);
    const gauges = new Map(proxy.stats.snapshot().gauges);
    expect(gauges.has('http.test.downstream_cx_active')).to.equal(true);
  });
});
