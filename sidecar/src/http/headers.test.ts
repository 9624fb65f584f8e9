// Header hygiene through a live handler: forwarding headers, request ids, hop-by-hop removal, concealment.
import { expect } from 'chai';
import { headerValue } from '../config/decode-header-value.ts';
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

describe('http handler: headers', () => {
  let echo: Awaited<ReturnType<typeof startHttpUpstream>>;
  let leaky: Awaited<ReturnType<typeof startHttpUpstream>>;
  let proxy: ProxyUnderTest;
  let trusting: ProxyUnderTest;

  before(async () => {
    echo = await startHttpUpstream(echoHandler('echo'));
    leaky = await startHttpUpstream((_req, res) => {
      res.writeHead(
        200,
        [
          ['x-trellis-upstream-host', '10.1.2.3:8080'],
          ['x-trellis-response-flags', 'UF'],
          ['x-internal-debug', 'stack trace'],
          ['connection', 'close, x-hop'],
          ['x-hop', 'per-hop'],
          ['keep-alive', 'timeout=1'],
          ['x-visible', 'yes'],
          ['set-cookie', 'a=1'],
          ['set-cookie', 'b=2'],
        ].flat(),
      );
      res.end('leaky');
    });
    const clusters = new TestClusters();
    clusters.add('echo', [echo.port]);
    clusters.add('leaky', [leaky.port]);
    const routes = routeConfig(
      [
        vhost(
          'v',
          ['*'],
          [
            route({ prefix: '/leaky', cluster: 'leaky' }),
            route({ prefix: '/down', cluster: 'down' }),
            route({ prefix: '/', cluster: 'echo' }),
          ],
        ),
      ],
      {
        internalOnlyHeaders: ['X-Internal-Debug'],
        // What the control plane puts on an inbound route configuration (an Envoy-valid X-Real-IP).
        requestHeaders: {
          add: [
            {
              name: 'x-real-ip',
              action: 'overwrite',
              ...headerValue('%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%', 'value', true),
            },
          ],
          remove: [],
        },
      },
    );
    clusters.add('down', [1]);
    proxy = await startProxy(routes, clusters);
    trusting = await startProxy(routes, clusters, { xffNumTrustedHops: 1 });
  });

  after(async () => {
    await proxy.close();
    await trusting.close();
    await echo.close();
    await leaky.close();
  });

  it("appends the peer to X-Forwarded-For and sets X-Real-IP (never the client's own) and X-Forwarded-Proto", async () => {
    const e = echoed(
      await send(proxy.port, '/', {
        headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-real-ip': '6.6.6.6' },
      }),
    );
    expect(e.headers['x-forwarded-for']).to.equal('203.0.113.9, 127.0.0.1');
    expect(e.headers['x-real-ip']).to.equal('127.0.0.1');
    expect(e.headers['x-forwarded-proto']).to.equal('http');
  });

  it('with a trusted hop, the client address comes from XFF and the incoming proto is kept', async () => {
    const e = echoed(
      await send(trusting.port, '/', {
        headers: {
          'x-forwarded-for': '198.51.100.1, 203.0.113.9',
          'x-forwarded-proto': 'https',
          'x-real-ip': '6.6.6.6',
        },
      }),
    );
    expect(e.headers['x-forwarded-for']).to.equal('198.51.100.1, 203.0.113.9, 127.0.0.1');
    expect(e.headers['x-real-ip']).to.equal('203.0.113.9');
    expect(e.headers['x-forwarded-proto']).to.equal('https');
  });

  it('generates X-Request-Id when missing and keeps it end to end when present', async () => {
    const generated = echoed(await send(proxy.port, '/')).headers['x-request-id'];
    expect(generated).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
    const kept = echoed(await send(proxy.port, '/', { headers: { 'x-request-id': 'req-123' } })).headers[
      'x-request-id'
    ];
    expect(kept).to.equal('req-123');
  });

  it('strips hop-by-hop request headers and those named by Connection', async () => {
    const raw =
      'GET /hop HTTP/1.1\r\nHost: a\r\nConnection: x-private, keep-alive\r\nX-Private: 1\r\nKeep-Alive: timeout=9\r\n' +
      'Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\nTE: trailers, gzip\r\nUpgrade: h2c\r\n' +
      'X-End: kept\r\n\r\n';
    const [res] = parseRawResponses(
      await rawExchange(proxy.port, raw, (r) => r.endsWith('\r\n0\r\n\r\n') || r.includes('"body":""}')),
    );
    const headers = (JSON.parse(res?.body ?? '{}') as { headers: Record<string, string> }).headers;
    expect(headers['x-private']).to.equal(undefined);
    expect(headers['proxy-connection']).to.equal(undefined);
    expect(headers['proxy-authorization']).to.equal(undefined);
    expect(headers.upgrade).to.equal(undefined);
    expect(headers['keep-alive']).to.equal(undefined);
    expect(headers.te).to.equal('trailers');
    expect(headers['x-end']).to.equal('kept');
  });

  it('strips hop-by-hop response headers and conceals internal ones', async () => {
    const res = await send(proxy.port, '/leaky');
    expect(res.status).to.equal(200);
    expect(res.body).to.equal('leaky');
    expect(res.headers['x-visible']).to.equal('yes');
    expect(res.headers['set-cookie']).to.deep.equal(['a=1', 'b=2']);
    expect(res.headers['x-hop']).to.equal(undefined);
    expect(res.headers['keep-alive']).to.equal(undefined);
    expect(res.headers['x-trellis-upstream-host']).to.equal(undefined);
    expect(res.headers['x-trellis-response-flags']).to.equal(undefined);
    expect(res.headers['x-internal-debug']).to.equal(undefined);
  });

  it('local replies carry the response flag, and never the upstream address', async () => {
    const res = await send(proxy.port, '/down');
    expect(res.status).to.equal(503);
    expect(res.headers['x-trellis-response-flags']).to.equal('UF');
    expect(res.body).not.to.include('127.0.0.1');
    expect(JSON.stringify(res.headers)).not.to.include('127.0.0.1');
  });
});
