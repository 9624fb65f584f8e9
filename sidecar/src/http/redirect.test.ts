// Redirect routes through a live handler: the Location is the request's URL with the action's parts swapped in.
import { expect } from 'chai';
import type { RedirectAction } from '../config/model.ts';
import { type ProxyUnderTest, route, routeConfig, send, startProxy, TestClusters, vhost } from './test-harness.ts';

describe('redirect routes', () => {
  let proxy: ProxyUnderTest;

  before(async () => {
    const r = (prefix: string, redirect: Partial<RedirectAction>) =>
      route({ prefix, redirect: { status: 301, stripQuery: false, ...redirect } });
    proxy = await startProxy(
      routeConfig([
        vhost(
          'v',
          ['*'],
          [
            r('/https', { scheme: 'https' }),
            r('/old/', { prefix: '/new/', status: 308 }),
            r('/moved', { host: 'elsewhere.example', path: '/landing?from=moved', status: 302 }),
            r('/port', { port: 8443, stripQuery: true, status: 307 }),
          ],
        ),
      ]),
      new TestClusters(),
    );
  });
  after(async () => {
    await proxy.close();
  });

  const location = async (path: string, host: string) => {
    const res = await send(proxy.port, path, { headers: { host } });
    return [res.status, res.headers.location];
  };

  it('https_redirect keeps host and path and drops the port 80', async () => {
    expect(await location('/https/a?x=1', 'shop.example:80')).to.deep.equal([301, 'https://shop.example/https/a?x=1']);
    expect(await location('/https/a', 'shop.example:8080')).to.deep.equal([301, 'https://shop.example:8080/https/a']);
  });

  it('prefix_rewrite swaps the matched prefix (308 keeps the method)', async () => {
    expect(await location('/old/page?q=1', 'shop.example')).to.deep.equal([308, 'http://shop.example/new/page?q=1']);
  });

  it('host and path redirects replace them; a query in path_redirect replaces the request one', async () => {
    expect(await location('/moved?x=1', 'shop.example:8080')).to.deep.equal([
      302,
      'http://elsewhere.example/landing?from=moved',
    ]);
  });

  it('a client host that is no plain host name is never echoed into a Location: 400', async () => {
    const res = await send(proxy.port, '/https/x', { headers: { host: 'good@evil.example' } });
    expect([res.status, res.headers.location]).to.deep.equal([400, undefined]);
  });

  it('port_redirect and strip_query', async () => {
    expect(await location('/port/x?secret=1', 'shop.example:8080')).to.deep.equal([
      307,
      'http://shop.example:8443/port/x',
    ]);
  });
});
