// RouteConfiguration decoding: matches, actions (weights, rewrites, timeouts, retries, hashing, CONNECT), headers.
import { expect } from 'chai';
import { decodeRouteConfiguration } from './decode-route.ts';
import { routeConfiguration, wire } from './envoy-fixtures.ts';
import type { Route, RouteAction, RouteConfig } from './model.ts';

type Obj = Record<string, unknown>;

function ok(object: Obj): RouteConfig {
  const r = decodeRouteConfiguration(wire('route', object), 'v7');
  if ('error' in r) throw new Error(r.error);
  return r.value;
}

function error(object: Obj): string {
  const r = decodeRouteConfiguration(wire('route', object), 'v7');
  if (!('error' in r)) throw new Error('expected an error');
  return r.error;
}

/** The only route of a one-route configuration. */
function onlyRoute(route: Obj): Route {
  const r = ok(routeConfiguration('rc', [route])).virtualHosts[0]?.routes[0];
  if (!r) throw new Error('no route');
  return r;
}

function action(route: Obj): RouteAction {
  const r = onlyRoute(route);
  if (r.action.type !== 'route') throw new Error('not a route action');
  return r.action.route;
}

describe('decodeRouteConfiguration', () => {
  it('decodes what the translator emits for a canary rule', () => {
    const a = action({
      name: 'orders/0',
      match: { prefix: '/api', headers: [{ name: 'X-Canary', string_match: { exact: '1' } }] },
      route: {
        weighted_clusters: {
          clusters: [
            { name: 'orders|8080|v2', weight: { value: 10 } },
            { name: 'orders|8080|v1', weight: { value: 90 } },
          ],
        },
        prefix_rewrite: '/',
        timeout: { seconds: 2 },
        retry_policy: {
          retry_on: '5xx,connect-failure,reset',
          num_retries: { value: 3 },
          per_try_timeout: { nanos: 500_000_000 },
        },
        max_stream_duration: { max_stream_duration: { seconds: 2 } },
        hash_policy: [
          { header: { header_name: 'X-User' } },
          { connection_properties: { source_ip: true }, terminal: true },
        ],
      },
    });
    expect(a).to.deep.equal({
      clusters: [
        { name: 'orders|8080|v2', weight: 10 },
        { name: 'orders|8080|v1', weight: 90 },
      ],
      totalWeight: 100,
      prefixRewrite: '/',
      timeoutMs: 2000,
      retry: {
        retryOn: ['5xx', 'connect-failure', 'reset'],
        numRetries: 3,
        perTryTimeoutMs: 500,
        retriableStatusCodes: [],
      },
      hashPolicy: [
        { kind: 'header', name: 'x-user', terminal: false },
        { kind: 'source-ip', name: '', terminal: true },
      ],
      upgrades: [],
    });
  });

  it('keeps the resource version and lower-cases domains', () => {
    const rc = ok(
      routeConfiguration('rc', [{ match: { prefix: '/' }, route: { cluster: 'c' } }], ['Orders:8080', 'orders']),
    );
    expect(rc.version).to.equal('v7');
    expect(rc.virtualHosts[0]?.domains).to.deep.equal(['orders:8080', 'orders']);
  });

  it("defaults the timeout to Envoy's 15s, and reads timeout 0 as none", () => {
    expect(action({ match: { prefix: '/' }, route: { cluster: 'c' } }).timeoutMs).to.equal(15_000);
    expect(action({ match: { prefix: '/' }, route: { cluster: 'c', timeout: { seconds: 0 } } }).timeoutMs).to.equal(0);
  });

  it('decodes route idle_timeout (absent: undefined, the connection manager stream_idle_timeout applies)', () => {
    const idle = action({ match: { prefix: '/' }, route: { cluster: 'c', idle_timeout: { seconds: 2, nanos: 5e8 } } });
    expect(idle.idleTimeoutMs).to.equal(2500);
    expect(action({ match: { prefix: '/' }, route: { cluster: 'c' } }).idleTimeoutMs).to.equal(undefined);
  });

  it('decodes the CONNECT route of the outbound configuration', () => {
    const r = onlyRoute({
      name: 'connect',
      match: { connect_matcher: {} },
      route: {
        cluster: 'orders|8080',
        upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }],
        timeout: {},
      },
    });
    expect(r.match.path).to.deep.equal({ kind: 'connect' });
    expect(r.action.type === 'route' && r.action.route.upgrades).to.deep.equal(['CONNECT']);
  });

  it('decodes path, header, query and cookie matches with compiled regexes', () => {
    const r = onlyRoute({
      match: {
        safe_regex: { regex: '/v[0-9]+/.*' },
        case_sensitive: { value: false },
        headers: [
          { name: ':method', string_match: { safe_regex: { regex: 'GET|HEAD' } } },
          { name: 'x-gone', present_match: true, invert_match: true },
          { name: 'x-suffix', string_match: { suffix: '.svc', ignore_case: true } },
        ],
        query_parameters: [
          { name: 'debug', present_match: true },
          { name: 'v', string_match: { exact: '2' } },
        ],
        grpc: {},
      },
      route: { cluster: 'c' },
    });
    expect(r.match.path.kind).to.equal('regex');
    if (r.match.path.kind === 'regex') expect(r.match.path.regex.fullMatch('/v2/x')).to.equal(true);
    const [method, gone, suffix, grpc] = r.match.headers;
    expect(method?.matcher?.kind).to.equal('regex');
    expect(gone).to.deep.equal({ name: 'x-gone', present: true, invert: true });
    expect(suffix?.matcher).to.deep.equal({ kind: 'suffix', value: '.svc', ignoreCase: true });
    expect(grpc?.matcher).to.deep.equal({ kind: 'prefix', value: 'application/grpc', ignoreCase: false });
    expect(r.match.query).to.deep.equal([
      { name: 'debug', present: true },
      { name: 'v', matcher: { kind: 'exact', value: '2', ignoreCase: false } },
    ]);
  });

  it('decodes header operations, regex rewrite, host rewrite and direct responses', () => {
    const r = onlyRoute({
      match: { path: '/x' },
      route: {
        cluster: 'c',
        regex_rewrite: { pattern: { regex: '^/v(\\d)/(.*)$' }, substitution: '/\\2?v=\\1' },
        host_rewrite_literal: 'backend',
      },
      request_headers_to_add: [
        { header: { key: 'X-A', value: '1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
        { header: { key: 'x-b', value: '2' } },
        { header: { key: 'x-c', value: '3' }, append_action: 'ADD_IF_ABSENT' },
      ],
      response_headers_to_remove: ['Server'],
    });
    expect(r.requestHeaders.add).to.deep.equal([
      { name: 'x-a', value: '1', action: 'overwrite' },
      { name: 'x-b', value: '2', action: 'append' },
      { name: 'x-c', value: '3', action: 'add-if-absent' },
    ]);
    expect(r.responseHeaders.remove).to.deep.equal(['server']);
    if (r.action.type !== 'route') throw new Error('expected route');
    const rw = r.action.route.regexRewrite;
    expect(rw?.regex.replaceAll('/v1/orders', rw.substitution)).to.equal('/orders?v=1');
    expect(r.action.route.hostRewrite).to.equal('backend');
    const direct = onlyRoute({
      match: { prefix: '/' },
      direct_response: { status: 418, body: { inline_string: 'teapot' } },
    });
    expect(direct.action).to.deep.equal({ type: 'direct', status: 418, body: 'teapot' });
  });

  it('accepts what RE2 accepts, however a backtracking engine would fare, and matches it in linear time', () => {
    // Valid RE2 that backtracks exponentially in a JS RegExp: a 31-character path stalled the sidecar ~10 s.
    const r = onlyRoute({
      match: {
        safe_regex: { regex: '^/(a|a)*$' },
        headers: [{ name: 'x-id', string_match: { safe_regex: { regex: '(x+x+)+y' } } }],
      },
      route: { cluster: 'c', regex_rewrite: { pattern: { regex: '(a+)+$' }, substitution: '<\\0>' } },
    });
    const long = 'a'.repeat(100_000);
    if (r.match.path.kind !== 'regex') throw new Error('expected a regex path');
    expect(r.match.path.regex.fullMatch(`/${long}!`)).to.equal(false);
    expect(r.match.path.regex.fullMatch(`/${long}`)).to.equal(true);
    const header = r.match.headers[0]?.matcher;
    expect(header?.kind === 'regex' && header.regex.fullMatch('x'.repeat(100_000))).to.equal(false);
    const rw = r.action.type === 'route' ? r.action.route.regexRewrite : undefined;
    expect(rw?.regex.replaceAll(`/${long}!`, rw.substitution)).to.equal(`/${long}!`);
    expect(rw?.regex.replaceAll(`/${long}`, rw.substitution)).to.equal(`/<${long}>`);
  });

  it('applies a virtual host retry policy to routes without their own', () => {
    const rc = ok({
      name: 'rc',
      virtual_hosts: [
        {
          name: 'vh',
          domains: ['*'],
          retry_policy: { retry_on: 'reset' },
          routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }],
        },
      ],
    });
    const r = rc.virtualHosts[0]?.routes[0];
    expect(r?.action.type === 'route' && r.action.route.retry?.retryOn).to.deep.equal(['reset']);
    expect(r?.action.type === 'route' && r.action.route.retry?.numRetries).to.equal(1);
  });

  const errors: [string, Obj, RegExp][] = [
    [
      'a domain in two virtual hosts',
      {
        name: 'rc',
        virtual_hosts: [
          { name: 'a', domains: ['orders'], routes: [] },
          { name: 'b', domains: ['ORDERS'], routes: [] },
        ],
      },
      /^route configuration rc: virtual_hosts\[1\]\.domains\[0\]: domain orders is also in virtual host a$/,
    ],
    ['a bad wildcard', routeConfiguration('rc', [], ['a.*.b']), /invalid wildcard domain/],
    [
      'a lookbehind',
      routeConfiguration('rc', [{ match: { safe_regex: { regex: '(?<=a)b' } }, route: { cluster: 'c' } }]),
      /routes\[0\]\.match\.safe_regex\.regex: invalid RE2 regex .*lookbehind/,
    ],
    [
      'a backreference in a header',
      routeConfiguration('rc', [
        {
          match: { prefix: '/', headers: [{ name: 'h', string_match: { safe_regex: { regex: '(a)\\1' } } }] },
          route: { cluster: 'c' },
        },
      ]),
      /headers\[0\]\.string_match\.safe_regex\.regex: .*backreferences/,
    ],
    [
      'a rewrite pattern RE2 refuses',
      routeConfiguration('rc', [
        { match: { prefix: '/' }, route: { cluster: 'c', regex_rewrite: { pattern: { regex: 'a{2000}' } } } },
      ]),
      /route\.regex_rewrite\.pattern\.regex: invalid RE2 regex "a\{2000\}": invalid repeat count/,
    ],
    [
      'a rewrite naming a group the pattern lacks',
      routeConfiguration('rc', [
        {
          match: { prefix: '/' },
          route: { cluster: 'c', regex_rewrite: { pattern: { regex: '/(a)' }, substitution: '\\2' } },
        },
      ]),
      /route\.regex_rewrite\.substitution: \\2 refers to group 2 but the pattern has only 1$/,
    ],
    [
      'a regex rewrite in a redirect',
      routeConfiguration('rc', [{ match: { prefix: '/' }, redirect: { regex_rewrite: { pattern: { regex: 'a' } } } }]),
      /routes\[0\]\.redirect\.regex_rewrite: regex rewrites in redirects are not supported/,
    ],
    [
      'a redirect to a path with spaces',
      routeConfiguration('rc', [{ match: { prefix: '/' }, redirect: { path_redirect: '/a b' } }]),
      /routes\[0\]\.redirect\.path_redirect: expected a path starting with \//,
    ],
    [
      'cluster_header',
      routeConfiguration('rc', [{ match: { prefix: '/' }, route: { cluster_header: 'x' } }]),
      /route\.cluster_header: not supported/,
    ],
    [
      'zero total weight',
      routeConfiguration('rc', [
        { match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: { value: 0 } }] } } },
      ]),
      /weights must add up/,
    ],
    [
      'a runtime fraction',
      routeConfiguration('rc', [
        { match: { prefix: '/', runtime_fraction: { default_value: { numerator: 1 } } }, route: { cluster: 'c' } },
      ]),
      /match\.runtime_fraction: not supported/,
    ],
    [
      'a filter_state hash policy',
      routeConfiguration('rc', [
        {
          match: { prefix: '/' },
          route: { cluster: 'c', hash_policy: [{ filter_state: { key: 'io.grpc.channel_id' } }] },
        },
      ]),
      /hash_policy\[0\]: unsupported hash policy/,
    ],
    [
      'require_tls',
      { name: 'rc', virtual_hosts: [{ name: 'v', domains: ['*'], require_tls: 'ALL' }] },
      /require_tls: TLS/,
    ],
  ];
  it('decodes request_mirror_policies (cluster, share, the shadow suffix)', () => {
    const rc = ok(
      routeConfiguration('rc', [
        {
          match: { prefix: '/' },
          route: {
            cluster: 'c',
            request_mirror_policies: [
              { cluster: 'shadow' },
              {
                cluster: 'canary',
                runtime_fraction: { default_value: { numerator: 5, denominator: 'TEN_THOUSAND' } },
                disable_shadow_host_suffix_append: true,
              },
            ],
          },
        },
      ]),
    );
    const action = rc.virtualHosts[0]?.routes[0]?.action as { route: RouteAction };
    expect(action.route.mirrors).to.deep.equal([
      { cluster: 'shadow', fraction: { numerator: 100, denominator: 100 }, shadowSuffix: true },
      { cluster: 'canary', fraction: { numerator: 5, denominator: 10_000 }, shadowSuffix: false },
    ]);
    expect(
      error(
        routeConfiguration('rc', [{ match: { prefix: '/' }, route: { cluster: 'c', request_mirror_policies: [{}] } }]),
      ),
    ).to.match(/request_mirror_policies\[0\]\.cluster: is required/);
  });

  it('decodes redirect actions (scheme, host, port, path or prefix, code, strip_query)', () => {
    const rc = ok(
      routeConfiguration('rc', [
        { match: { prefix: '/a' }, redirect: { https_redirect: true } },
        {
          match: { prefix: '/b' },
          redirect: {
            host_redirect: 'x.example',
            port_redirect: 8443,
            prefix_rewrite: '/c',
            response_code: 'SEE_OTHER',
          },
        },
        { match: { prefix: '/d' }, redirect: { path_redirect: '/e?f=1', strip_query: true, response_code: 4 } },
      ]),
    );
    expect(rc.virtualHosts[0]?.routes.map((r) => r.action)).to.deep.equal([
      { type: 'redirect', redirect: { status: 301, stripQuery: false, scheme: 'https' } },
      { type: 'redirect', redirect: { status: 303, stripQuery: false, host: 'x.example', port: 8443, prefix: '/c' } },
      { type: 'redirect', redirect: { status: 308, stripQuery: true, path: '/e?f=1' } },
    ]);
  });

  for (const [label, object, pattern] of errors) {
    it(`rejects ${label}, naming the field path`, () => {
      expect(error(object)).to.match(pattern);
    });
  }
});
