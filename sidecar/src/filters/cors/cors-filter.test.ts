// The CORS filter through a live handler on real sockets: preflights from allowed origins are answered without the
// app, actual requests get Access-Control-Allow-*, other origins get nothing, and policies come from the route, its
// virtual host or the legacy `cors` field.
import { expect } from 'chai';
import {
  CORS_POLICY_TYPE,
  CORS_TYPE,
  type CorsPolicyConfig,
  type HttpFilterConfig,
  type PerFilterConfigs,
} from '../../config/model.ts';
import { route, send } from '../../http/test-harness.ts';
import { filterBench } from '../test-filter-proxy.ts';

const NAME = 'envoy.filters.http.cors';
const CHAIN: HttpFilterConfig[] = [{ name: NAME, typeName: CORS_TYPE, config: {} }];

const POLICY: CorsPolicyConfig = {
  allowOrigins: [
    { kind: 'exact', value: 'https://shop.example', ignoreCase: false },
    { kind: 'suffix', value: '.trusted.example', ignoreCase: true },
  ],
  allowMethods: 'GET, POST, PUT',
  allowHeaders: 'content-type, x-token',
  exposeHeaders: 'x-backend',
  maxAge: '600',
};

const perRoute = (policy: CorsPolicyConfig, key = NAME): PerFilterConfigs => ({
  [key]: { typeName: CORS_POLICY_TYPE, config: policy },
});

const preflight = (origin: string, extra: Record<string, string> = {}) => ({
  method: 'OPTIONS',
  headers: { origin, 'access-control-request-method': 'PUT', ...extra },
});

describe('CORS filter (envoy.filters.http.cors)', () => {
  const bench = filterBench();
  const proxy = (perFilterConfig: PerFilterConfigs | undefined) =>
    bench.proxy(CHAIN, [
      { ...route({ prefix: '/', cluster: 'app' }), ...(perFilterConfig ? { perFilterConfig } : {}) },
    ]);

  it('answers a preflight from an allowed origin itself, with the policy, and the app never sees it', async () => {
    const p = await proxy(perRoute(POLICY));
    const before = bench.hits;
    const res = await send(p.port, '/orders', preflight('https://shop.example'));
    expect(res.status).to.equal(200);
    expect(res.body).to.equal('');
    expect(res.headers['access-control-allow-origin']).to.equal('https://shop.example');
    expect(res.headers['access-control-allow-methods']).to.equal('GET, POST, PUT');
    expect(res.headers['access-control-allow-headers']).to.equal('content-type, x-token');
    expect(res.headers['access-control-max-age']).to.equal('600');
    expect(res.headers['access-control-allow-credentials']).to.equal(undefined);
    expect(bench.hits).to.equal(before);
    expect(p.stats.counter('http.in.cors.origin_valid')).to.equal(1);
  });

  it('adds Allow-Origin, credentials and Expose-Headers to the responses of allowed origins only', async () => {
    const p = await proxy(perRoute({ ...POLICY, allowCredentials: true }));
    const ok = await send(p.port, '/orders', { headers: { origin: 'https://API.trusted.example' } });
    expect(ok.status).to.equal(200);
    expect(ok.headers['access-control-allow-origin']).to.equal('https://API.trusted.example');
    expect(ok.headers['access-control-allow-credentials']).to.equal('true');
    expect(ok.headers['access-control-expose-headers']).to.equal('x-backend');
    const other = await send(p.port, '/orders', { headers: { origin: 'https://evil.example' } });
    expect(other.status).to.equal(200);
    expect(other.headers['access-control-allow-origin']).to.equal(undefined);
    const none = await send(p.port, '/orders');
    expect(none.headers['access-control-allow-origin']).to.equal(undefined);
    expect(p.stats.counter('http.in.cors.origin_valid')).to.equal(1);
    expect(p.stats.counter('http.in.cors.origin_invalid')).to.equal(1);
  });

  it('forwards preflights from other origins by default; with forward_not_matching_preflights off, a bare 200', async () => {
    const forwarded = await proxy(perRoute(POLICY));
    const before = bench.hits;
    const res = await send(forwarded.port, '/orders', preflight('https://evil.example'));
    expect(bench.hits).to.equal(before + 1);
    expect(res.headers['access-control-allow-origin']).to.equal(undefined);
    const closed = await proxy(perRoute({ ...POLICY, forwardNotMatchingPreflights: false }));
    const bare = await send(closed.port, '/orders', preflight('https://evil.example'));
    expect(bare.status).to.equal(200);
    expect(bare.headers['access-control-allow-origin']).to.equal(undefined);
    expect(bare.headers['access-control-allow-methods']).to.equal('GET, POST, PUT');
    expect(bench.hits).to.equal(before + 1);
  });

  it('`*` echoes the requested method and headers; a matcher that matches `*` allows any origin', async () => {
    const p = await proxy(
      perRoute({
        allowOrigins: [{ kind: 'prefix', value: '', ignoreCase: false }],
        allowMethods: '*',
        allowHeaders: '*',
        allowPrivateNetworkAccess: true,
      }),
    );
    const res = await send(
      p.port,
      '/',
      preflight('null', {
        'access-control-request-headers': 'x-a, x-b',
        'access-control-request-private-network': 'true',
      }),
    );
    expect(res.headers['access-control-allow-origin']).to.equal('null');
    expect(res.headers['access-control-allow-methods']).to.equal('PUT');
    expect(res.headers['access-control-allow-headers']).to.equal('x-a, x-b');
    expect(res.headers['access-control-allow-private-network']).to.equal('true');
  });

  it('legacy `cors` (under the policy type) applies only when no policy is configured by name; shadow mode acts on nothing', async () => {
    const legacy = await proxy(perRoute(POLICY, CORS_POLICY_TYPE));
    const res = await send(legacy.port, '/', { headers: { origin: 'https://shop.example' } });
    expect(res.headers['access-control-allow-origin']).to.equal('https://shop.example');
    const both = await proxy({
      ...perRoute(POLICY, CORS_POLICY_TYPE),
      ...perRoute({ allowOrigins: [{ kind: 'exact', value: 'https://other.example', ignoreCase: false }] }),
    });
    const byName = await send(both.port, '/', { headers: { origin: 'https://shop.example' } });
    expect(byName.headers['access-control-allow-origin']).to.equal(undefined);
    const shadow = await proxy(
      perRoute({
        ...POLICY,
        enabled: { numerator: 0, denominator: 100 },
        shadow: { numerator: 100, denominator: 100 },
      }),
    );
    const before = bench.hits;
    const judged = await send(shadow.port, '/', preflight('https://shop.example'));
    expect(judged.headers['access-control-allow-origin']).to.equal(undefined);
    expect(bench.hits).to.equal(before + 1);
    expect(shadow.stats.counter('http.in.cors.origin_valid')).to.equal(1);
  });

  it("CORS headers reach the router's own replies too (a browser can read the 503)", async () => {
    const p = await bench.proxy(CHAIN, [
      { ...route({ prefix: '/', cluster: 'down' }), perFilterConfig: perRoute(POLICY) },
    ]);
    // Port 1 on loopback refuses: the router answers 503 itself.
    bench.clusters.add('down', [1]);
    const res = await send(p.port, '/', { headers: { origin: 'https://shop.example' } });
    expect(res.status).to.equal(503);
    expect(res.headers['access-control-allow-origin']).to.equal('https://shop.example');
  });

  it('shadow_enabled with filter_enabled unset still enforces (filter_enabled defaults to 100 %, as in Envoy)', async () => {
    const p = await proxy(perRoute({ ...POLICY, shadow: { numerator: 100, denominator: 100 } }));
    const before = bench.hits;
    const res = await send(p.port, '/', preflight('https://shop.example'));
    expect(res.headers['access-control-allow-origin']).to.equal('https://shop.example');
    expect(bench.hits).to.equal(before);
  });
});
