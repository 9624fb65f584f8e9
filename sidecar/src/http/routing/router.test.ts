// Route actions: weighted cluster choice, prefix/regex path rewrites, host rewrite, request header mutation order.
import { expect } from 'chai';
import { RequestView } from '../message/request-view.ts';
import { hcmConfig, route, routeConfig, vhost } from '../test-harness.ts';
import { RouteTable } from './route-table.ts';
import { pickRouteCluster, prepareUpstreamHeaders, upstreamAuthority, upstreamPath } from './router.ts';

function compiled(spec: Parameters<typeof route>[0]) {
  const table = RouteTable.for(routeConfig([vhost('v', ['*'], [route(spec)])]));
  const r = table.selectVirtualHost('x')?.routes[0];
  if (r === undefined) throw new Error('no route');
  return { table, route: r };
}

const view = (target: string, authority = 'orders:8080', headers: string[] = []): RequestView =>
  new RequestView('GET', 'http', authority, target, headers, false);

describe('router', () => {
  it('splits by weight, roughly', () => {
    const { route: r } = compiled({
      clusters: [
        ['a', 80],
        ['b', 20],
      ],
    });
    const counts = { a: 0, b: 0 } as Record<string, number>;
    for (let i = 0; i < 10_000; i++) {
      const name = pickRouteCluster(r.action!) as string;
      counts[name] = (counts[name] ?? 0) + 1;
    }
    expect(counts.a).to.be.within(7600, 8400);
    expect(counts.b).to.be.within(1600, 2400);
  });

  it('a single cluster needs no draw; zero weights fall back to the first', () => {
    expect(pickRouteCluster(compiled({ cluster: 'only' }).route.action!)).to.equal('only');
    expect(
      pickRouteCluster(
        compiled({
          clusters: [
            ['z', 0],
            ['y', 0],
          ],
        }).route.action!,
      ),
    ).to.equal('z');
  });

  it('prefix rewrite keeps the rest of the path and the query', () => {
    const { route: r } = compiled({ prefix: '/api/', prefixRewrite: '/' });
    expect(upstreamPath(r, view('/api/orders?id=1'))).to.equal('/orders?id=1');
    const { route: r2 } = compiled({ prefix: '/api', prefixRewrite: '' });
    expect(upstreamPath(r2, view('/api'))).to.equal('/');
  });

  it('regex rewrite replaces every match with an RE2 rewrite string', () => {
    const { route: r } = compiled({
      prefix: '/',
      regexRewrite: { pattern: '/v(\\d+)/', substitution: '/version-\\1/' },
    });
    expect(upstreamPath(r, view('/v1/a/v2/b?q=/v3/'))).to.equal('/version-1/a/version-2/b?q=/v3/');
  });

  it('a regex rewrite that would read far past a hostile path gives up: the request is refused, not half rewritten', () => {
    const { route: r } = compiled({ prefix: '/', regexRewrite: { pattern: 'a(.*c)?', substitution: 'x' } });
    expect(upstreamPath(r, view(`/${'a'.repeat(20_000)}`))).to.equal(undefined);
    expect(upstreamPath(r, view('/banana'))).to.equal('/bxnxnx');
  });

  it('host rewrite replaces the authority', () => {
    expect(upstreamAuthority(compiled({ hostRewrite: 'internal.orders' }).route, view('/'))).to.equal(
      'internal.orders',
    );
    expect(upstreamAuthority(compiled({}).route, view('/'))).to.equal('orders:8080');
  });

  it('request header mutations: route, then virtual host, then route config (least specific wins)', () => {
    const config = routeConfig(
      [
        vhost(
          'v',
          ['*'],
          [
            route({
              requestHeaders: {
                add: [
                  { name: 'X-Level', value: 'route', action: 'overwrite' },
                  { name: 'x-route', value: '1', action: 'append' },
                ],
                remove: ['x-drop'],
              },
            }),
          ],
          { requestHeaders: { add: [{ name: 'x-level', value: 'vhost', action: 'overwrite' }], remove: [] } },
        ),
      ],
      { requestHeaders: { add: [{ name: 'x-level', value: 'global', action: 'add-if-absent' }], remove: [] } },
    );
    const table = RouteTable.for(config);
    const vh = table.selectVirtualHost('x')!;
    const v = view('/', 'x', ['x-drop', 'gone', 'x-keep', 'yes']);
    prepareUpstreamHeaders(
      v,
      { table, vhost: vh, route: vh.routes[0] },
      hcmConfig({ generateRequestId: false }),
      '10.0.0.9',
    );
    expect(v.headers).to.include.members(['x-keep', 'yes', 'x-route', '1']);
    expect(v.headers).not.to.include('x-drop');
    const level = v.headers.indexOf('x-level');
    expect(v.headers[level + 1]).to.equal('vhost');
  });
});
