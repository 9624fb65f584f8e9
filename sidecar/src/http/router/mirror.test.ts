// Request mirroring through a live handler: the shadow cluster gets a copy (host suffixed -shadow, body included),
// the primary answer never waits for it, and a copy that hangs gives its request slot back at the route timeout.
import type http from 'node:http';
import { expect } from 'chai';
import {
  type ProxyUnderTest,
  route,
  routeConfig,
  send,
  startHttpUpstream,
  startProxy,
  TestClusters,
  vhost,
} from '../test-harness.ts';
import { shadowAuthority } from './mirror.ts';

interface Copy {
  method: string;
  host: string;
  url: string;
  body: string;
}

describe('request mirroring', () => {
  let primary: Awaited<ReturnType<typeof startHttpUpstream>>;
  let shadow: Awaited<ReturnType<typeof startHttpUpstream>>;
  let proxy: ProxyUnderTest;
  let clusters: TestClusters;
  const copies: Copy[] = [];
  let hang = false;
  const held: http.ServerResponse[] = [];

  before(async () => {
    primary = await startHttpUpstream((_req, res) => res.end('primary'));
    shadow = await startHttpUpstream((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => {
        body += d;
      });
      req.on('end', () => {
        copies.push({ method: req.method ?? '', host: req.headers.host ?? '', url: req.url ?? '', body });
        if (hang) held.push(res);
        else res.end('shadow');
      });
    });
    clusters = new TestClusters();
    clusters.add('app', [primary.port]);
    clusters.add('shadow', [shadow.port]);
    const mirror = { cluster: 'shadow', fraction: { numerator: 100, denominator: 100 }, shadowSuffix: true };
    proxy = await startProxy(
      routeConfig([vhost('v', ['*'], [route({ prefix: '/', cluster: 'app', mirrors: [mirror], timeoutMs: 300 })])]),
      clusters,
    );
  });
  after(async () => {
    for (const r of held) r.end();
    await proxy.close();
    await primary.close();
    await shadow.close();
  });

  /** Polls a state the handler reaches through socket events (no fixed sleeps). */
  const until = async (condition: () => boolean): Promise<void> => {
    while (!condition()) await new Promise((resolve) => setImmediate(resolve));
  };

  it('copies a request, body included, to the shadow cluster with the host suffixed -shadow', async () => {
    const res = await send(proxy.port, '/orders?x=1', {
      method: 'POST',
      headers: { host: 'shop:8080' },
      body: 'hello',
    });
    expect([res.status, res.body]).to.deep.equal([200, 'primary']);
    await until(() => copies.length === 1);
    expect(copies[0]).to.deep.equal({ method: 'POST', host: 'shop-shadow:8080', url: '/orders?x=1', body: 'hello' });
  });

  it('a shadow that never answers delays nothing, and gives its slot back at the route timeout', async () => {
    hang = true;
    const res = await send(proxy.port, '/slow-shadow', { headers: { host: 'shop' } });
    expect([res.status, res.body]).to.deep.equal([200, 'primary']);
    const shadowCluster = clusters.get('shadow') as unknown as { activeRequests: number };
    await until(() => copies.some((c) => c.url === '/slow-shadow'));
    expect(shadowCluster.activeRequests, 'the copy is in flight').to.equal(1);
    await until(() => shadowCluster.activeRequests === 0);
    hang = false;
  });

  it('shadow authority: -shadow goes after the host, before any port', () => {
    expect(shadowAuthority('shop')).to.equal('shop-shadow');
    expect(shadowAuthority('shop:8080')).to.equal('shop-shadow:8080');
    expect(shadowAuthority('[::1]:80')).to.equal('[::1]-shadow:80');
  });
});
