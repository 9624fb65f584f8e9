// Route table: virtual host precedence and port fallback, path/header/query matchers, first match wins, caching.
import { expect } from 'chai';
import type { HeaderMatch } from '../../config/model.ts';
import { RequestView } from '../message/request-view.ts';
import { route, routeConfig, vhost } from '../test-harness.ts';
import { RouteTable, routeMatches, routeMismatch } from './route-table.ts';

function view(authority: string, target = '/', headers: string[] = [], method = 'GET'): RequestView {
  return new RequestView(method, 'http', authority, target, headers, false);
}

function exact(name: string, value: string, invert = false): HeaderMatch {
  return { name, matcher: { kind: 'exact', value, ignoreCase: false }, invert };
}

describe('RouteTable', () => {
  describe('virtual host selection', () => {
    const table = RouteTable.for(
      routeConfig([
        vhost('exact', ['orders.shop', 'orders.shop:8080'], []),
        vhost('suffix-short', ['*.shop'], []),
        vhost('suffix-long', ['*.eu.shop'], []),
        vhost('prefix', ['orders.*'], []),
        vhost('default', ['*'], []),
      ]),
    );
    const pick = (authority: string): string | undefined => table.selectVirtualHost(authority)?.name;

    it('prefers exact, then the longest suffix wildcard, then prefix wildcards, then *', () => {
      expect(pick('orders.shop')).to.equal('exact');
      expect(pick('cart.eu.shop')).to.equal('suffix-long');
      expect(pick('cart.shop')).to.equal('suffix-short');
      expect(pick('orders.internal')).to.equal('prefix');
      expect(pick('elsewhere')).to.equal('default');
    });

    it('is case-insensitive and tries host:port before host', () => {
      expect(pick('ORDERS.Shop:8080')).to.equal('exact');
      expect(pick('orders.shop:9090')).to.equal('exact');
      expect(pick('cart.shop:80')).to.equal('suffix-short');
    });

    it('a wildcard needs at least one character', () => {
      expect(pick('.shop')).to.equal('default');
    });

    it('handles IPv6 authorities', () => {
      const t = RouteTable.for(routeConfig([vhost('v6', ['[::1]'], []), vhost('d', ['*'], [])]));
      expect(t.selectVirtualHost('[::1]:8080')?.name).to.equal('v6');
    });

    it('no virtual host without a * fallback', () => {
      const t = RouteTable.for(routeConfig([vhost('only', ['a'], [])]));
      expect(t.selectVirtualHost('b')).to.equal(undefined);
    });
  });

  describe('route matching', () => {
    const table = RouteTable.for(
      routeConfig([
        vhost(
          'all',
          ['*'],
          [
            route({ name: 'exact', exact: '/exact' }),
            route({ name: 'ci', prefix: '/CaseLess', ignoreCase: true }),
            route({ name: 'regex', regex: '/items/\\d+' }),
            route({ name: 'method', prefix: '/m', headers: [exact(':method', 'POST')] }),
            route({ name: 'canary', prefix: '/c', headers: [exact('x-canary', '1')] }),
            route({ name: 'not-canary', prefix: '/c', headers: [exact('x-canary', '1', true)] }),
            route({
              name: 'cookie',
              prefix: '/k',
              headers: [
                { name: 'cookie', matcher: { kind: 'contains', value: 'beta=1', ignoreCase: false }, invert: false },
              ],
            }),
            route({ name: 'present', prefix: '/p', headers: [{ name: 'x-debug', present: true, invert: false }] }),
            route({ name: 'absent', prefix: '/p', headers: [{ name: 'x-debug', present: false, invert: false }] }),
            route({
              name: 'query',
              prefix: '/q',
              query: [{ name: 'v', matcher: { kind: 'exact', value: '2', ignoreCase: false } }],
            }),
            route({ name: 'query-present', prefix: '/q', query: [{ name: 'v' }] }),
            route({ name: 'connect', connect: true }),
            route({ name: 'first', prefix: '/' }),
            route({ name: 'never', prefix: '/never' }),
          ],
        ),
      ]),
    );
    const match = (v: RequestView): string | undefined => table.match(v)?.route.name;

    it('exact path, on the path without its query string', () => {
      expect(match(view('a', '/exact?x=1'))).to.equal('exact');
      expect(match(view('a', '/exact/more'))).to.equal('first');
    });

    it('case-insensitive prefixes', () => {
      expect(match(view('a', '/caseless/x'))).to.equal('ci');
    });

    it('regex paths are full matches', () => {
      expect(match(view('a', '/items/42'))).to.equal('regex');
      expect(match(view('a', '/items/42/x'))).to.equal('first');
    });

    it('pseudo-header :method', () => {
      expect(match(view('a', '/m', [], 'POST'))).to.equal('method');
      expect(match(view('a', '/m', [], 'GET'))).to.equal('first');
    });

    it('header values, inverted matches and absent headers', () => {
      expect(match(view('a', '/c', ['x-canary', '1']))).to.equal('canary');
      expect(match(view('a', '/c', ['x-canary', '0']))).to.equal('not-canary');
      // An absent header fails a value match even when inverted (Envoy semantics).
      expect(match(view('a', '/c'))).to.equal('first');
    });

    it('cookie header, joined across several Cookie fields', () => {
      expect(match(view('a', '/k', ['cookie', 'a=1', 'cookie', 'beta=1']))).to.equal('cookie');
      expect(match(view('a', '/k', ['cookie', 'a=1']))).to.equal('first');
    });

    it('present and absent', () => {
      expect(match(view('a', '/p', ['x-debug', '']))).to.equal('present');
      expect(match(view('a', '/p'))).to.equal('absent');
    });

    it('query parameters', () => {
      expect(match(view('a', '/q?v=2'))).to.equal('query');
      expect(match(view('a', '/q?v=3'))).to.equal('query-present');
      expect(match(view('a', '/q?w=3'))).to.equal('first');
    });

    it('CONNECT requests only match connect routes, and connect routes only CONNECT', () => {
      expect(match(view('db:5432', 'db:5432', [], 'CONNECT'))).to.equal('connect');
      expect(match(view('a', '/anything'))).to.equal('first');
    });

    it('first match wins', () => {
      expect(match(view('a', '/never'))).to.equal('first');
    });

    it('routeMismatch (the admin /explain) agrees with matching, route by route, and says why', () => {
      const views = [
        view('a', '/exact'),
        view('a', '/exact?x=1'),
        view('a', '/caseless/x'),
        view('a', '/items/12'),
        view('a', '/items/x'),
        view('a', '/m', [], 'POST'),
        view('a', '/c', ['x-canary', '1']),
        view('a', '/c', ['x-canary', '2']),
        view('a', '/k', ['cookie', 'a=1; beta=1']),
        view('a', '/p', ['x-debug', '']),
        view('a', '/q?v=2'),
        view('a', '/q?v=3'),
        view('db:5432', 'db:5432', [], 'CONNECT'),
      ];
      const routes = table.selectVirtualHost('a')?.routes ?? [];
      for (const v of views)
        for (const r of routes)
          expect(routeMismatch(r, v) === undefined, `${r.name} for ${v.method} ${v.path}${v.query}`).to.equal(
            routeMatches(r, v),
          );
      const why = (name: string, v: RequestView): string | undefined =>
        routeMismatch(routes.find((r) => r.name === name)!, v);
      expect(why('exact', view('a', '/other'))).to.equal('path "/other" is not "/exact"');
      expect(why('ci', view('a', '/x'))).to.equal('path "/x" does not start with "/caseless" (case-insensitive)');
      expect(why('regex', view('a', '/items/x'))).to.equal('path "/items/x" does not match the regex "/items/\\\\d+"');
      expect(why('canary', view('a', '/c'))).to.equal('header x-canary is absent');
      expect(why('not-canary', view('a', '/c', ['x-canary', '1']))).to.equal(
        'header x-canary: "1" does not match (inverted)',
      );
      expect(why('query', view('a', '/q?v=3'))).to.equal('query parameter v: "3" does not match');
      expect(why('query-present', view('a', '/q'))).to.equal('query parameter v is absent');
      expect(why('connect', view('a', '/'))).to.equal('matches CONNECT requests only');
    });
  });

  it('compiles a config object once', () => {
    const config = routeConfig([vhost('v', ['*'], [route({})])]);
    expect(RouteTable.for(config)).to.equal(RouteTable.for(config));
    expect(RouteTable.for(routeConfig([]))).not.to.equal(RouteTable.for(config));
  });

  it('drops header mutations and rewrites that cannot go on the wire', () => {
    const config = routeConfig([vhost('v', ['*'], [route({ prefixRewrite: '/a b', hostRewrite: 'evil\r\nx: y' })])], {
      requestHeaders: {
        add: [
          { name: 'x-ok', value: 'fine', action: 'append' },
          { name: 'x-bad', value: 'a\r\nInjected: 1', action: 'append' },
          { name: 'bad name', value: 'v', action: 'append' },
        ],
        remove: [],
      },
    });
    const t = RouteTable.for(config);
    expect(t.requestHeaders.add.map((op) => op.name)).to.deep.equal(['x-ok']);
    const r = t.selectVirtualHost('x')?.routes[0];
    expect(r?.prefixRewrite).to.equal(undefined);
    expect(r?.hostRewrite).to.equal(undefined);
  });

  it('lower-cases header mutation names once', () => {
    const config = routeConfig([], {
      responseHeaders: { add: [{ name: 'X-A', value: '1', action: 'append' }], remove: ['X-B'] },
    });
    const t = RouteTable.for(config);
    expect(t.responseHeaders.add[0]?.name).to.equal('x-a');
    expect(t.responseHeaders.remove).to.deep.equal(['x-b']);
  });
});
