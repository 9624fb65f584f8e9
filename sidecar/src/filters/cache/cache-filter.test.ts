// The cache filter through a live handler on real sockets: hits answered without the app, revalidation with a
// conditional request (a 304 answered from the store), Vary, what must not be stored, one upstream fetch for
// concurrent misses, invalidation by unsafe methods, stale-if-error, and purge.

import type http from 'node:http';
import net from 'node:net';
import { expect } from 'chai';
import { CACHE_TYPE, type CacheFilterConfig, type HttpFilterConfig } from '../../config/model.ts';
import { route, send, until } from '../../http/test-harness.ts';
import { filterBench } from '../test-filter-proxy.ts';
import { MAX_WAIT_MS } from './cache-filter.ts';
import { ResponseCaches } from './response-store.ts';

const CONFIG: CacheFilterConfig = {
  disabled: false,
  allowedVaryHeaders: [{ kind: 'exact', value: 'accept-language', ignoreCase: false }],
  excludeScheme: false,
  excludeHost: false,
  maxBodyBytes: 0,
  ignoreRequestCacheControl: false,
};

const chain = (config: Partial<CacheFilterConfig> = {}): HttpFilterConfig[] => [
  { name: 'envoy.filters.http.cache', typeName: CACHE_TYPE, config: { ...CONFIG, ...config } },
];

/** Requests the app saw, by path. */
const seen = new Map<string, http.IncomingHttpHeaders[]>();
/** Held /slow responses, released by the test. */
const slow: (() => void)[] = [];
/** /flaky answers 500 while set. */
let failing = false;
let version = 1;

function app(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://app');
  const list = seen.get(url.pathname) ?? [];
  list.push(req.headers);
  seen.set(url.pathname, list);
  const n = list.length;
  const text = (status: number, headers: http.OutgoingHttpHeaders, body: string): void => {
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };
  switch (url.pathname) {
    case '/fresh':
      text(200, { 'cache-control': 'max-age=60', etag: '"f"' }, `fresh ${n}`);
      return;
    case '/stale': {
      const etag = `"v${version}"`;
      if (req.headers['if-none-match'] === etag) {
        // The 304 names the stored response; its Content-Type would not describe the stored body.
        res.writeHead(304, { etag, 'cache-control': 'max-age=0', 'content-type': 'application/octet-stream' });
        res.end();
        return;
      }
      text(200, { 'cache-control': 'max-age=0', etag }, `version ${version}`);
      return;
    }
    case '/vary':
      text(
        200,
        { 'cache-control': 'max-age=60', vary: 'Accept-Language' },
        `lang ${req.headers['accept-language']} ${n}`,
      );
      return;
    case '/vary-ua':
      text(200, { 'cache-control': 'max-age=60', vary: 'User-Agent' }, `ua ${n}`);
      return;
    case '/no-store':
      text(200, { 'cache-control': 'no-store' }, `no-store ${n}`);
      return;
    case '/private':
      text(200, { 'cache-control': 'private, max-age=60' }, `private ${n}`);
      return;
    case '/cookie':
      text(200, { 'cache-control': 'max-age=60', 'set-cookie': 'session=abc' }, `cookie ${n}`);
      return;
    case '/big':
      text(200, { 'cache-control': 'max-age=60' }, 'x'.repeat(2048));
      return;
    case '/flaky':
      if (failing) {
        text(500, {}, 'down');
        return;
      }
      text(200, { 'cache-control': 'max-age=0, stale-if-error=600', etag: '"s"' }, `flaky ${n}`);
      return;
    case '/slow-first':
      // The first request is held until released; the others are answered at once.
      if (n === 1) {
        slow.push(() => text(200, { 'cache-control': 'max-age=60' }, 'slow-first 1'));
        return;
      }
      text(200, { 'cache-control': 'max-age=60' }, `slow-first ${n}`);
      return;
    case '/no-etag-304':
      if (n > 1) {
        // A 304 that names no stored response (no ETag) and says another Content-Type.
        res.writeHead(304, { 'content-type': 'application/octet-stream' });
        res.end();
        return;
      }
      text(200, { 'cache-control': 'max-age=0', etag: '"n1"' }, 'no-etag-304 1');
      return;
    case '/slow':
      slow.push(() => text(200, { 'cache-control': 'max-age=60' }, `slow ${n}`));
      return;
    default:
      if (req.method !== 'GET') {
        text(204, {}, '');
        return;
      }
      text(200, { 'cache-control': 'max-age=60' }, `page ${url.pathname} ${n}`);
      return;
  }
}

const hits = (path: string) => seen.get(path)?.length ?? 0;

describe('cache filter (envoy.filters.http.cache)', () => {
  const caches = new ResponseCaches();
  const bench = filterBench(app, caches);
  beforeEach(() => {
    seen.clear();
    failing = false;
    version = 1;
  });

  it('answers a fresh entry itself, with age and Cache-Status; the app sees the first request only', async () => {
    const p = await bench.proxy(chain());
    const first = await send(p.port, '/fresh');
    expect(first.body).to.equal('fresh 1');
    expect(first.headers['cache-status']).to.equal('trellis; fwd=miss');
    const second = await send(p.port, '/fresh');
    expect(second.status).to.equal(200);
    expect(second.body).to.equal('fresh 1');
    expect(second.headers['cache-status']).to.equal('trellis; hit');
    expect(second.headers['age']).to.match(/^\d+$/);
    expect(second.headers['etag']).to.equal('"f"');
    expect(second.headers['content-length']).to.equal('7');
    expect(hits('/fresh')).to.equal(1);
    expect(p.stats.counter('http.in.cache.miss')).to.equal(1);
    expect(p.stats.counter('http.in.cache.stored')).to.equal(1);
    expect(p.stats.counter('http.in.cache.hit')).to.equal(1);
  });

  it('revalidates a stale entry with If-None-Match; a 304 is answered with the stored body', async () => {
    const p = await bench.proxy(chain());
    expect((await send(p.port, '/stale')).body).to.equal('version 1');
    const revalidated = await send(p.port, '/stale');
    expect(revalidated.status).to.equal(200);
    expect(revalidated.body).to.equal('version 1');
    expect(revalidated.headers['cache-status']).to.equal('trellis; fwd=stale; fwd-status=304');
    expect(seen.get('/stale')?.[1]?.['if-none-match']).to.equal('"v1"');
    expect(p.stats.counter('http.in.cache.validated')).to.equal(1);
    version = 2;
    const changed = await send(p.port, '/stale');
    expect(changed.body).to.equal('version 2');
    expect(p.stats.counter('http.in.cache.failed_validation')).to.equal(1);
    // The new version replaced the old one.
    expect((await send(p.port, '/stale')).headers['cache-status']).to.equal('trellis; fwd=stale; fwd-status=304');
  });

  it('keeps a variant per Vary value; a Vary outside the allowed list is not stored', async () => {
    const p = await bench.proxy(chain());
    const en = { headers: { 'accept-language': 'en' } };
    const fr = { headers: { 'accept-language': 'fr' } };
    expect((await send(p.port, '/vary', en)).body).to.equal('lang en 1');
    expect((await send(p.port, '/vary', fr)).body).to.equal('lang fr 2');
    expect((await send(p.port, '/vary', en)).body).to.equal('lang en 1');
    expect((await send(p.port, '/vary', fr)).body).to.equal('lang fr 2');
    expect(hits('/vary')).to.equal(2);
    await send(p.port, '/vary-ua');
    expect((await send(p.port, '/vary-ua')).body).to.equal('ua 2');
  });

  it('never stores no-store, private, Set-Cookie or oversized responses, nor answers conditional requests', async () => {
    const p = await bench.proxy(chain({ maxBodyBytes: 1024 }));
    for (const path of ['/no-store', '/private', '/cookie', '/big']) {
      await send(p.port, path);
      const again = await send(p.port, path);
      expect(again.headers['cache-status'], path).to.equal('trellis; fwd=miss');
      expect(hits(path), path).to.equal(2);
    }
    expect((await send(p.port, '/big')).body).to.have.length(2048);
    await send(p.port, '/fresh');
    const conditional = await send(p.port, '/fresh', { headers: { 'if-none-match': '"f"' } });
    expect(conditional.headers['cache-status']).to.equal(undefined);
    expect(hits('/fresh')).to.equal(2);
    expect(p.stats.counter('http.in.cache.bypass')).to.equal(1);
  });

  it('concurrent misses of one key wait for one upstream fetch', async () => {
    const p = await bench.proxy(chain());
    const pending = Array.from({ length: 5 }, () => send(p.port, '/slow'));
    await until(() => slow.length === 1 && p.stats.counter('http.in.cache.miss') === 1);
    // Give the other four time to arrive and wait (their requests are on the wire): held, not sent upstream.
    await until(() => p.stats.gaugeValue('http.in.downstream_rq_active') >= 5);
    (slow.shift() as () => void)();
    const bodies = (await Promise.all(pending)).map((r) => r.body);
    expect(bodies).to.deep.equal(Array(5).fill('slow 1'));
    expect(hits('/slow')).to.equal(1);
    expect(p.stats.counter('http.in.cache.coalesced')).to.equal(4);
  });

  it('a successful unsafe method invalidates the target; stale-if-error serves the stored entry on a 500', async () => {
    const p = await bench.proxy(chain());
    await send(p.port, '/doc');
    expect((await send(p.port, '/doc')).headers['cache-status']).to.equal('trellis; hit');
    await send(p.port, '/doc', { method: 'PUT', body: 'new' });
    expect((await send(p.port, '/doc')).headers['cache-status']).to.equal('trellis; fwd=miss');
    expect(p.stats.counter('http.in.cache.invalidated')).to.equal(1);
    expect((await send(p.port, '/flaky')).body).to.equal('flaky 1');
    failing = true;
    const rescued = await send(p.port, '/flaky');
    expect(rescued.status).to.equal(200);
    expect(rescued.body).to.equal('flaky 1');
    expect(rescued.headers['cache-status']).to.equal('trellis; fwd=stale; fwd-status=500');
  });

  it('purge drops entries by host and path prefix', async () => {
    const p = await bench.proxy(chain());
    await send(p.port, '/a/1');
    await send(p.port, '/b/1');
    const host = `127.0.0.1:${p.port}`;
    expect(caches.purge((key) => key.includes(`${host}/a/`))).to.equal(1);
    expect((await send(p.port, '/a/1')).headers['cache-status']).to.equal('trellis; fwd=miss');
    expect((await send(p.port, '/b/1')).headers['cache-status']).to.equal('trellis; hit');
  });

  it('clients that leave while waiting on a fill, or while filling, leave nothing held and the key fills again', async () => {
    const p = await bench.proxy(chain());
    const active = () => p.stats.gaugeValue('http.in.downstream_rq_active');
    const open = (): net.Socket => {
      const socket = net.connect(p.port, '127.0.0.1', () =>
        socket.write(`GET /slow HTTP/1.1\r\nhost: 127.0.0.1:${p.port}\r\n\r\n`),
      );
      socket.on('error', () => {});
      return socket;
    };
    const filler = open();
    await until(() => slow.length === 1);
    const waiters = [open(), open(), open()];
    await until(() => active() === 4);
    for (const w of waiters) w.destroy();
    await until(() => active() === 1);
    filler.destroy();
    await until(() => active() === 0);
    (slow.shift() as () => void)();
    // The fill ended with its client: the next miss fills at once and a later one waits on it (not on a dead fill).
    const next = send(p.port, '/slow');
    await until(() => slow.length === 1);
    const later = send(p.port, '/slow');
    await until(() => active() === 2);
    (slow.shift() as () => void)();
    expect([(await next).body, (await later).body]).to.deep.equal(['slow 2', 'slow 2']);
    expect(hits('/slow')).to.equal(2);
    expect(p.stats.counter('http.in.cache.coalesced')).to.equal(1);
  });

  it('a route override can turn the cache off', async () => {
    const p = await bench.proxy(chain(), [
      {
        ...route({ prefix: '/', cluster: 'app' }),
        perFilterConfig: {
          'envoy.filters.http.cache': { typeName: CACHE_TYPE, config: { ...CONFIG, disabled: true } },
        },
      },
    ]);
    await send(p.port, '/fresh');
    expect((await send(p.port, '/fresh')).headers['cache-status']).to.equal(undefined);
    expect(hits('/fresh')).to.equal(2);
  });

  it('a request waiting on a slow fill goes upstream itself after a bound', async () => {
    const p = await bench.proxy(chain());
    const first = send(p.port, '/slow-first');
    await until(() => slow.length === 1);
    const started = performance.now();
    const second = await send(p.port, '/slow-first');
    expect(second.body).to.equal('slow-first 2');
    expect(performance.now() - started).to.be.at.least(MAX_WAIT_MS - 50);
    (slow.shift() as () => void)();
    expect((await first).body).to.equal('slow-first 1');
  });

  it('a 304 that names no stored response answers with the stored response as it was, then the entry goes', async () => {
    const p = await bench.proxy(chain());
    await send(p.port, '/no-etag-304');
    const answered = await send(p.port, '/no-etag-304');
    expect(answered.status).to.equal(200);
    expect(answered.body).to.equal('no-etag-304 1');
    expect(answered.headers['content-type']).to.equal('text/plain');
    expect(answered.headers['etag']).to.equal('"n1"');
    expect(p.stats.counter('http.in.cache.failed_validation')).to.equal(1);
    // Dropped: the next request is a miss again (the app answers another 304, passed on as a miss cannot use it).
    expect(hits('/no-etag-304')).to.equal(2);
  });

  it("a revalidation keeps the stored response's Content-Type and ETag; hits do not repeat route header mutations", async () => {
    const r = route({ prefix: '/', cluster: 'app' });
    const p = await bench.proxy(chain(), [
      { ...r, responseHeaders: { add: [{ name: 'x-route', value: 'yes', action: 'append' }], remove: [] } },
    ]);
    await send(p.port, '/stale');
    const revalidated = await send(p.port, '/stale');
    expect(revalidated.headers['cache-status']).to.equal('trellis; fwd=stale; fwd-status=304');
    expect(revalidated.headers['content-type']).to.equal('text/plain');
    expect(revalidated.headers['etag']).to.equal('"v1"');
    await send(p.port, '/fresh');
    const hit = await send(p.port, '/fresh');
    expect(hit.headers['cache-status']).to.equal('trellis; hit');
    expect(hit.headers['x-route']).to.equal('yes');
  });

  it("the proxy's own answers are not stored, nor do they keep a key from coalescing", async () => {
    const p = await bench.proxy(chain(), [route({ prefix: '/', cluster: 'down' })]);
    // Port 1 on loopback refuses: the router answers 503 itself.
    bench.clusters.add('down', [1]);
    expect((await send(p.port, '/fresh')).status).to.equal(503);
    expect(p.stats.counter('http.in.cache.uncacheable')).to.equal(0);
    expect(p.stats.counter('http.in.cache.stored')).to.equal(0);
  });
});
