// Path normalization through a live handler: routes (and the authorization rules to come) see the prepared path,
// and the app gets that same path; traversal spellings cannot reach /admin through a route meant for /public.
import http2 from 'node:http2';
import { expect } from 'chai';
import type { EscapedSlashesAction } from '../config/model.ts';
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

/** What the control plane emits for sidecars (see sidecar-listeners.ts), with the escaped-slash action under test. */
function safePaths(escapedSlashes: EscapedSlashesAction) {
  return { pathNormalization: { normalizePath: true, mergeSlashes: true, escapedSlashes } };
}

describe('path normalization before routing', () => {
  let app: Awaited<ReturnType<typeof startHttpUpstream>>;
  const proxies = new Map<EscapedSlashesAction | 'off', ProxyUnderTest>();

  before(async () => {
    app = await startHttpUpstream(echoHandler('app'));
    const clusters = new TestClusters();
    clusters.add('app', [app.port]);
    // /admin stands for a path an authorization rule denies.
    const routes = routeConfig([
      vhost(
        'v',
        ['*'],
        [
          route({ name: 'admin', prefix: '/admin', direct: { status: 403, body: 'admin is off limits' } }),
          route({ name: 'app', prefix: '/', cluster: 'app' }),
        ],
      ),
    ]);
    proxies.set('off', await startProxy(routes, clusters));
    for (const action of [
      'keep-unchanged',
      'reject-request',
      'unescape-and-redirect',
      'unescape-and-forward',
    ] as const) {
      proxies.set(action, await startProxy(routes, clusters, safePaths(action)));
    }
  });

  after(async () => {
    for (const p of proxies.values()) await p.close();
    await app.close();
  });

  const port = (which: EscapedSlashesAction | 'off'): number => (proxies.get(which) as ProxyUnderTest).port;

  it('without normalization (Envoy default) traversal spellings slip past the /admin route', async () => {
    const res = await send(port('off'), '/public/../admin/users');
    expect(res.status).to.equal(200);
    expect(echoed(res).url).to.equal('/public/../admin/users');
  });

  for (const spelling of [
    '/public/../admin/users',
    '/public/%2e%2e/admin/users',
    '/public/%2E./admin/users',
    '/./admin/users',
    '//admin/users',
    '/public/..//admin/users',
    '/%61dmin/users',
    '/public\\..\\admin/users',
  ]) {
    it(`normalize_path + merge_slashes: ${spelling} is routed as /admin/users`, async () => {
      const res = await send(port('keep-unchanged'), spelling);
      expect(res.status).to.equal(403);
      expect(res.body).to.equal('admin is off limits');
    });
  }

  it('the app gets the prepared path, query untouched', async () => {
    const e = echoed(await send(port('keep-unchanged'), '/a/./b/../c//d?x=/../y&z=%2e'));
    expect(e.url).to.equal('/a/c/d?x=/../y&z=%2e');
  });

  it('HTTP/2 paths are prepared the same way', async () => {
    const session = http2.connect(`http://127.0.0.1:${port('keep-unchanged')}`);
    try {
      const stream = session.request({ ':path': '/public/%2e%2e/admin', ':authority': 'a' }, { endStream: true });
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', resolve));
      stream.resume();
      expect(headers[':status']).to.equal(403);
    } finally {
      session.close();
    }
  });

  describe('path_with_escaped_slashes_action', () => {
    it('KEEP_UNCHANGED: /a%2Fb is routed and forwarded as is (apps that decode it see another path)', async () => {
      const e = echoed(await send(port('keep-unchanged'), '/public%2F..%2Fadmin'));
      expect(e.url).to.equal('/public%2F..%2Fadmin');
    });

    it('REJECT_REQUEST: 400, counted as downstream_rq_failed_path_normalization', async () => {
      const res = await send(port('reject-request'), '/a%2Fb');
      expect(res.status).to.equal(400);
      expect(res.headers['x-trellis-response-flags']).to.equal('DPE');
      expect((await send(port('reject-request'), '/a%5cb')).status).to.equal(400);
      const stats = (proxies.get('reject-request') as ProxyUnderTest).stats;
      expect(stats.counter('http.test.downstream_rq_failed_path_normalization')).to.equal(2);
    });

    it('UNESCAPE_AND_REDIRECT: 307 to the prepared path with the query', async () => {
      const res = await send(port('unescape-and-redirect'), '/a%2Fb?q=1');
      expect(res.status).to.equal(307);
      expect(res.headers.location).to.equal('/a/b?q=1');
      const traversal = await send(port('unescape-and-redirect'), '/public%2F..%2Fadmin');
      expect([traversal.status, traversal.headers.location]).to.deep.equal([307, '/admin']);
      const stats = (proxies.get('unescape-and-redirect') as ProxyUnderTest).stats;
      expect(stats.counter('http.test.downstream_rq_redirected_with_normalized_path')).to.equal(2);
      // A path with nothing escaped is not redirected.
      expect((await send(port('unescape-and-redirect'), '/a/b')).status).to.equal(200);
    });

    it('UNESCAPE_AND_REDIRECT: gRPC cannot follow redirects and gets INTERNAL instead', async () => {
      const res = await send(port('unescape-and-redirect'), '/pkg.Svc%2FMethod', {
        method: 'POST',
        headers: { 'content-type': 'application/grpc' },
      });
      expect(res.status).to.equal(200);
      expect(res.headers['grpc-status']).to.equal('13');
    });

    it('UNESCAPE_AND_FORWARD: routed and forwarded unescaped (and normalized)', async () => {
      expect(echoed(await send(port('unescape-and-forward'), '/a%2Fb')).url).to.equal('/a/b');
      expect((await send(port('unescape-and-forward'), '/public%2F..%2Fadmin')).status).to.equal(403);
    });
  });
});
