// Routing through a live handler: path/regex/header/query/cookie matches, weighted split, rewrites, header mutations.
import { expect } from 'chai';
import {
  echoed,
  echoHandler,
  type ProxyUnderTest,
  route,
  routeConfig,
  send,
  startHttpUpstream,
  startProxy,
  TestClusters,
  vhost,
} from './test-harness.ts';

describe('http handler: routing', () => {
  const upstreams: Awaited<ReturnType<typeof startHttpUpstream>>[] = [];
  let proxy: ProxyUnderTest;

  before(async () => {
    const clusters = new TestClusters();
    for (const name of ['a', 'b', 'c', 'v1', 'v2']) {
      const u = await startHttpUpstream(echoHandler(name));
      upstreams.push(u);
      clusters.add(name, [u.port]);
    }
    const exact = (name: string, value: string) => ({
      name,
      matcher: { kind: 'exact' as const, value, ignoreCase: false },
      invert: false,
    });
    const routes = routeConfig(
      [
        vhost(
          'shop',
          ['shop.local'],
          [
            route({ name: 'canary', prefix: '/api', headers: [exact('x-canary', '1')], cluster: 'b' }),
            route({ name: 'post', prefix: '/api', headers: [exact(':method', 'POST')], cluster: 'c' }),
            route({
              name: 'beta-cookie',
              prefix: '/api',
              headers: [
                { name: 'cookie', matcher: { kind: 'contains', value: 'beta=yes', ignoreCase: false }, invert: false },
              ],
              cluster: 'c',
            }),
            route({
              name: 'query',
              prefix: '/api',
              query: [{ name: 'version', matcher: { kind: 'exact', value: '2', ignoreCase: false } }],
              cluster: 'v2',
            }),
            route({ name: 'api', prefix: '/api/', prefixRewrite: '/v1/', cluster: 'a' }),
            route({
              name: 'items',
              regex: '/items/\\d+',
              regexRewrite: { pattern: '/items/(\\d+)', substitution: '/item?id=\\1' },
              cluster: 'a',
            }),
            route({
              name: 'split',
              prefix: '/split',
              clusters: [
                ['v1', 75],
                ['v2', 25],
              ],
            }),
            route({ name: 'host', prefix: '/host', hostRewrite: 'internal.shop', cluster: 'a' }),
            route({
              name: 'ops',
              prefix: '/ops',
              cluster: 'a',
              requestHeaders: { add: [{ name: 'x-route', value: 'ops', action: 'append' }], remove: ['x-secret'] },
              responseHeaders: {
                add: [{ name: 'x-served-by', value: 'route', action: 'overwrite' }],
                remove: ['x-backend'],
              },
            }),
          ],
          {
            requestHeaders: { add: [{ name: 'x-vhost', value: 'shop', action: 'append' }], remove: [] },
            responseHeaders: { add: [{ name: 'x-served-by', value: 'vhost', action: 'add-if-absent' }], remove: [] },
          },
        ),
      ],
      {
        requestHeaders: { add: [{ name: 'x-mesh', value: 'trellis', action: 'overwrite' }], remove: [] },
        responseHeaders: { add: [{ name: 'x-mesh', value: 'trellis', action: 'overwrite' }], remove: [] },
      },
    );
    proxy = await startProxy(routes, clusters);
  });

  after(async () => {
    await proxy.close();
    for (const u of upstreams) await u.close();
  });

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    send(proxy.port, path, { method, headers: { host: 'shop.local', ...headers } });

  it('prefix match with prefix rewrite', async () => {
    const e = echoed(await get('/api/orders?x=1'));
    expect(e.backend).to.equal('a');
    expect(e.url).to.equal('/v1/orders?x=1');
  });

  it('header, :method, cookie and query matches pick other clusters', async () => {
    expect(echoed(await get('/api/x', { 'x-canary': '1' })).backend).to.equal('b');
    expect(echoed(await get('/api/x', {}, 'POST')).backend).to.equal('c');
    expect(echoed(await get('/api/x', { cookie: 'a=1; beta=yes' })).backend).to.equal('c');
    expect(echoed(await get('/api/x?version=2')).backend).to.equal('v2');
    expect(echoed(await get('/api/x?version=3')).backend).to.equal('a');
  });

  it('regex match with regex rewrite', async () => {
    const e = echoed(await get('/items/42'));
    expect(e.url).to.equal('/item?id=42');
    expect((await get('/items/abc')).status).to.equal(404);
  });

  it('splits traffic by weight, roughly', async () => {
    const counts: Record<string, number> = { v1: 0, v2: 0 };
    for (let i = 0; i < 200; i++) {
      const backend = echoed(await get('/split')).backend;
      counts[backend] = (counts[backend] ?? 0) + 1;
    }
    expect(counts.v1).to.be.within(115, 185);
    expect(counts.v2).to.be.within(15, 85);
  });

  it('host rewrite', async () => {
    expect(echoed(await get('/host')).headers.host).to.equal('internal.shop');
  });

  it('request and response header mutations at route, virtual host and route-config level', async () => {
    const res = await get('/ops', { 'x-secret': 'no', 'x-mesh': 'spoofed' });
    const e = echoed(res);
    expect(e.headers['x-route']).to.equal('ops');
    expect(e.headers['x-vhost']).to.equal('shop');
    expect(e.headers['x-mesh']).to.equal('trellis');
    expect(e.headers['x-secret']).to.equal(undefined);
    expect(res.headers['x-served-by']).to.equal('route');
    expect(res.headers['x-backend']).to.equal(undefined);
    expect(res.headers['x-mesh']).to.equal('trellis');
  });
});
