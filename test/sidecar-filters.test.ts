// End to end through a real mesh, resources applied with trellisctl: fault injection at the calling sidecar (aborts
// answer without reaching the app, delays hold the request), redirects, direct responses, mirroring, and a service's
// rate limit, response cache, compression and TypeScript filters (with per-path overrides) at its own inbound sidecar.

import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import { expect } from 'chai';
import { setMeshFault } from '../demo/src/fault-toggle.ts';
import { eventually } from './helpers/eventually.ts';
import { closeHttpClients, viaProxy } from './helpers/http-client.ts';
import { type Mesh, startMesh } from './helpers/mesh.ts';

/** web's Route: `rules` (YAML list items, indented 4) before the catch-all to v1. */
function webRoute(rules = ''): string {
  return `apiVersion: trellis.dev/v1
kind: Route
metadata: { name: web }
spec:
  hosts: [web]
  http:${rules}
    - route: [{ service: web, subset: v1 }]
`;
}

const FAULTS = `
    - match: [{ pathPrefix: /broken }]
      route: [{ service: web, subset: v1 }]
      fault: { abort: { httpStatus: 503 } }
    - match: [{ pathPrefix: /slow }]
      route: [{ service: web, subset: v1 }]
      fault: { delay: { fixedDelay: 300ms } }`;

/** web's TrafficPolicy (its subsets, as the mesh has them) with `extra` spec fields. */
function policy(extra: string): string {
  return `apiVersion: trellis.dev/v1
kind: TrafficPolicy
metadata: { name: web }
spec:
  service: web
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
  ${extra}
`;
}

describe('sidecar HTTP filters and route actions (end to end): fault, redirect, mirror, rate limit, compression, CORS, cache, TypeScript filters', function () {
  this.timeout(90_000);
  let mesh: Mesh;
  // A fresh connection each time: one opened before a listener change keeps the old connection manager.
  const get = (path: string, headers: Record<string, string> = {}) =>
    viaProxy(mesh.sidecars.client.outboundPort, `http://web:8080${path}`, { fresh: true, headers });
  const stat = async (name: string, sidecar: 'client' | 'webV1' | 'webV2' = 'client'): Promise<number> => {
    const text = await (await mesh.sidecars[sidecar].admin('/stats')).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}: `));
    return Number(line?.split(': ')[1] ?? 0);
  };

  before(async () => {
    mesh = await startMesh();
    await mesh.apply(webRoute());
    await eventually(async () => expect((await get('/broken')).status).to.equal(200), 200);
  });
  after(async () => {
    closeHttpClients();
    await mesh?.stop();
  });

  it('a fault on a share of requests aborts about that share (a binomial bound, not a point value)', async () => {
    await mesh.apply(
      webRoute(`
    - match: [{ pathPrefix: /quarter }]
      route: [{ service: web, subset: v1 }]
      fault: { abort: { httpStatus: 503, percent: 25 } }`),
    );
    // Wait until the rule is in force (some abort has happened), then count a fresh sample.
    await eventually(async () => expect((await get('/quarter')).status).to.equal(503), 200);
    const n = 400;
    let aborted = 0;
    for (let i = 0; i < n; i++) {
      const r = await get('/quarter');
      if (r.status === 503 && r.headers['x-trellis-response-flags'] === 'FI') aborted++;
      else expect(r.status).to.equal(200);
    }
    // 25 % of 400 is 100 ± 8.7 (one standard deviation): [60, 140] is over 4.5 deviations either side.
    expect(aborted).to.be.within(60, 140);
    await mesh.apply(webRoute());
  });

  it('aborts /broken with 503 at the calling sidecar; the app never sees it', async () => {
    await mesh.apply(webRoute(FAULTS));
    const res = await eventually(async () => {
      const r = await get('/broken');
      expect(r.status).to.equal(503);
      return r;
    }, 200);
    expect(res.body).to.equal('fault filter abort');
    expect(res.headers['x-trellis-response-flags']).to.equal('FI');
    const reached = await stat('http.inbound.downstream_rq_total', 'webV1');
    expect(reached, 'earlier requests reached web-v1').to.be.greaterThan(0);
    expect((await get('/broken')).status).to.equal(503);
    expect(await stat('http.inbound.downstream_rq_total', 'webV1'), 'requests at web-v1').to.equal(reached);
    expect(await stat('http.outbound.fault.aborts_injected')).to.be.at.least(1);
    expect((await get('/fine')).status).to.equal(200);
  });

  it('delays /slow by the fixed delay and then serves it', async () => {
    const started = performance.now();
    const res = await get('/slow');
    expect(res.status).to.equal(200);
    expect(performance.now() - started).to.be.at.least(290);
    expect(await stat('http.outbound.fault.delays_injected')).to.be.at.least(1);
  });

  it('removing the rule removes the fault', async () => {
    await mesh.apply(webRoute());
    await eventually(async () => expect((await get('/broken')).status).to.equal(200), 200);
  });

  it('a redirect rule answers at the calling sidecar with the Location; a direct response with its body', async () => {
    await mesh.apply(
      webRoute(`
    - match: [{ pathPrefix: /old/ }]
      redirect: { prefix: /new/, code: 308 }
    - match: [{ pathPrefix: /gone }]
      directResponse: { status: 410, body: gone for good }`),
    );
    const moved = await eventually(async () => {
      const r = await get('/old/page?x=1');
      expect(r.status).to.equal(308);
      return r;
    }, 200);
    expect(moved.headers.location).to.equal('http://web:8080/new/page?x=1');
    const gone = await get('/gone');
    expect([gone.status, gone.body]).to.deep.equal([410, 'gone for good']);
    await mesh.apply(webRoute());
    await eventually(async () => expect((await get('/old/page')).status).to.equal(200), 200);
  });

  it('a mirror copies requests to another destination while answers come from the route', async () => {
    // The catch-all to v1 comes after: the mirroring rule matches everything first.
    await mesh.apply(
      webRoute(`
    - route: [{ service: web, subset: v1 }]
      mirror: { service: web, subset: v2 }`),
    );
    const before = await stat('http.inbound.downstream_rq_total', 'webV2');
    // Answers keep coming from v1 while v2's sidecar counts the copies.
    await eventually(async () => {
      const r = await get('/mirrored');
      expect((JSON.parse(r.body) as { app: string }).app).to.equal('web-v1');
      expect(await stat('http.inbound.downstream_rq_total', 'webV2')).to.be.greaterThan(before);
    }, 200);
    await mesh.apply(webRoute());
  });

  it("a service's rate limit refuses past its bucket at the service's own sidecar, with 429 and retry-after", async () => {
    await mesh.apply(policy('rateLimit: { requestsPerUnit: 3, unit: hour }'));
    // Once web-v1's inbound listener carries the filter (a bucket of 3), the fourth request is refused.
    let refused: Awaited<ReturnType<typeof get>> | undefined;
    await eventually(async () => {
      const r = await get('/limited');
      if (r.status === 429) refused = r;
      expect(r.status).to.equal(429);
    }, 200);
    expect(refused?.body).to.equal('local_rate_limited');
    expect(Number(refused?.headers['retry-after'])).to.be.greaterThan(0);
    expect(await stat('inbound_rate_limit.http_local_rate_limit.enforced', 'webV1')).to.be.at.least(1);
    await mesh.apply(policy(''));
    await eventually(async () => expect((await get('/limited')).status).to.equal(200), 200);
  });

  it("a service's compression policy: callers that accept br or gzip get the app's JSON compressed by its sidecar", async () => {
    await mesh.apply(policy('compression: { encodings: [br, gzip], minBytes: 10 }'));
    await eventually(async () => {
      const r = await get('/compressed', { 'accept-encoding': 'gzip, br' });
      expect(r.headers['content-encoding']).to.equal('br');
      expect(r.headers['vary']).to.equal('Accept-Encoding');
      const seen = JSON.parse(zlib.brotliDecompressSync(r.raw).toString()) as { app: string; path: string };
      expect(seen.app).to.equal('web-v1');
    }, 200);
    const gzip = await get('/compressed', { 'accept-encoding': 'gzip' });
    expect(gzip.headers['content-encoding']).to.equal('gzip');
    expect((JSON.parse(zlib.gunzipSync(gzip.raw).toString()) as { app: string }).app).to.equal('web-v1');
    const plain = await get('/compressed');
    expect(plain.headers['content-encoding']).to.equal(undefined);
    expect((JSON.parse(plain.body) as { app: string }).app).to.equal('web-v1');
    expect(await stat('http.inbound.compressor.brotli.brotli.compressed', 'webV1')).to.be.at.least(1);
    expect(await stat('http.inbound.compressor.gzip.gzip.compressed', 'webV1')).to.be.at.least(1);
    await mesh.apply(policy(''));
    await eventually(async () => {
      expect((await get('/compressed', { 'accept-encoding': 'gzip' })).headers['content-encoding']).to.equal(undefined);
    }, 200);
  });

  it('a CORS rule: the calling sidecar answers preflights from allowed origins and marks their responses', async () => {
    await mesh.apply(
      webRoute(`
    - match: [{ pathPrefix: /cors }]
      route: [{ service: web, subset: v1 }]
      cors: { allowOrigins: [{ exact: "https://shop.example" }], allowMethods: [GET, PUT], maxAge: 10m }`),
    );
    const preflight = { origin: 'https://shop.example', 'access-control-request-method': 'PUT' };
    await eventually(async () => {
      const r = await viaProxy(mesh.sidecars.client.outboundPort, 'http://web:8080/cors', {
        method: 'OPTIONS',
        headers: preflight,
        fresh: true,
      });
      expect(r.status).to.equal(200);
      expect(r.headers['access-control-allow-origin']).to.equal('https://shop.example');
      expect(r.headers['access-control-allow-methods']).to.equal('GET, PUT');
      expect(r.headers['access-control-max-age']).to.equal('600');
      expect(r.body).to.equal('');
    }, 200);
    const actual = await get('/cors', { origin: 'https://shop.example' });
    expect(actual.headers['access-control-allow-origin']).to.equal('https://shop.example');
    expect((JSON.parse(actual.body) as { app: string }).app).to.equal('web-v1');
    const stranger = await get('/cors', { origin: 'https://evil.example' });
    expect(stranger.headers['access-control-allow-origin']).to.equal(undefined);
    expect(await stat('http.outbound.cors.origin_valid')).to.be.at.least(2);
    expect(await stat('http.outbound.cors.origin_invalid')).to.be.at.least(1);
    await mesh.apply(webRoute());
  });

  it("a service's response cache: its sidecar answers repeats of cacheable responses, compressed, until purged", async () => {
    await mesh.apply(policy('responseCache: {}\n  compression: { encodings: [gzip], minBytes: 10 }'));
    const gz = { 'accept-encoding': 'gzip' };
    // The first response fills the cache once web-v1's inbound listener has the filters; the next one is a hit.
    await eventually(async () => {
      await get('/cached/page', gz);
      const r = await get('/cached/page', gz);
      expect(r.headers['cache-status']).to.equal('trellis; hit');
    }, 200);
    const hit = await get('/cached/page', gz);
    expect(hit.headers['content-encoding']).to.equal('gzip');
    expect(hit.headers['vary']).to.equal('Accept-Encoding');
    const seen = JSON.parse(zlib.gunzipSync(hit.raw).toString()) as { app: string; url: string };
    expect(seen).to.include({ app: 'web-v1', url: '/cached/page' });
    // Another coding is another variant: a miss, then its own hit.
    expect((await get('/cached/page')).headers['cache-status']).to.equal('trellis; fwd=miss');
    expect((await get('/cached/page')).headers['cache-status']).to.equal('trellis; hit');
    // Not marked cacheable by the app: never stored.
    await get('/plain');
    expect((await get('/plain')).headers['cache-status']).to.equal('trellis; fwd=miss');
    expect(await stat('http.inbound.cache.hit', 'webV1')).to.be.at.least(2);
    const purge = await mesh.sidecars.webV1.admin('/cache/purge?prefix=web', { method: 'POST' });
    expect(await purge.text()).to.match(/^purged [1-9]\d*\n$/);
    expect((await get('/cached/page', gz)).headers['cache-status']).to.equal('trellis; fwd=miss');
    await mesh.apply(policy(''));
    await eventually(async () => expect((await get('/cached/page')).headers['cache-status']).to.equal(undefined), 200);
  });

  it("a per-client rate limit by API key: each key has its own bucket at the service's sidecar", async () => {
    await mesh.apply(policy('rateLimit: { perClient: { requestsPerUnit: 2, unit: hour, by: { header: x-api-key } } }'));
    const as = (key: string) => get('/per-client', { 'x-api-key': key });
    // Once web-v1's inbound listener carries the descriptor, key "a" is refused on its third request.
    await eventually(async () => expect((await as('a')).status).to.equal(429), 200);
    expect((await as('b')).status).to.equal(200);
    expect((await as('b')).status).to.equal(200);
    expect((await as('b')).status).to.equal(429);
    // No key: no descriptor, and no service-wide bucket: never limited.
    for (let i = 0; i < 4; i++) expect((await get('/per-client')).status).to.equal(200);
    await mesh.apply(policy(''));
    await eventually(async () => expect((await as('a')).status).to.equal(200), 200);
  });

  it("the demo's [f] key: the fault goes onto the Route as it is and comes off again, through trellisctl", async () => {
    await mesh.apply(webRoute());
    await setMeshFault(mesh.cp.api, true, 'web');
    // A fifth of the calls answered 503 by the calling sidecar: over 100 calls, some certainly (0.8^100 ≈ 2e-10).
    await eventually(async () => {
      for (let i = 0; i < 100; i++) await get('/demo-fault');
      expect(await stat('http.outbound.fault.aborts_injected')).to.be.greaterThan(0);
    }, 200);
    await setMeshFault(mesh.cp.api, false, 'web');
    const route = await mesh.ctl(['get', 'route', 'web', '-o', 'yaml']);
    expect(route.stdout).to.not.include('fault');
    await eventually(async () => {
      const before = await stat('http.outbound.fault.aborts_injected');
      for (let i = 0; i < 30; i++) expect((await get('/demo-fault')).status).to.equal(200);
      expect(await stat('http.outbound.fault.aborts_injected')).to.equal(before);
    }, 200);
  });

  it('a TypeScript filter added, changed and removed live under load: zero failed requests; the HMAC example guards', async () => {
    const stamp = (version: string) =>
      policy(`filters:
    - name: stamp
      source: |
        export default {
          onResponse(res: FilterResponse, ctx: FilterContext) {
            res.setHeader('x-filter', (ctx.config as { v: string }).v);
          },
        };
      config: { v: ${version} }`);
    // Load: four callers in a loop on fresh connections until the end of the test.
    let running = true;
    const statuses = new Map<number, number>();
    const seen = new Set<string>();
    const failures: string[] = [];
    const load = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (running) {
          const r = await get('/live');
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.status !== 200) failures.push(`${r.status} ${JSON.stringify(r.headers)} ${r.body}`);
          seen.add(String(r.headers['x-filter'] ?? 'none'));
        }
      }),
    );
    try {
      await mesh.apply(stamp('v1'));
      await eventually(async () => expect((await get('/live')).headers['x-filter']).to.equal('v1'), 200);
      await mesh.apply(stamp('v2'));
      await eventually(async () => expect((await get('/live')).headers['x-filter']).to.equal('v2'), 200);
      await mesh.apply(policy(''));
      await eventually(async () => expect((await get('/live')).headers['x-filter']).to.equal(undefined), 200);
    } finally {
      running = false;
      await load;
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
    expect([...statuses.keys()]).to.deep.equal([200]);
    expect([...seen].sort()).to.include.members(['v1', 'v2', 'none']);
    // The shipped HMAC example, from its file, as a policy: unsigned requests are answered 401 by web's sidecar.
    const source = readFileSync(new URL('../examples/filters/hmac-signature.ts', import.meta.url), 'utf8');
    const indented = source
      .split('\n')
      .map((l) => `        ${l}`)
      .join('\n');
    await mesh.apply(
      policy(`filters:
    - name: hmac
      config: { secret: s3cret, maxSkewSeconds: 300 }
      source: |
${indented}`),
    );
    await eventually(async () => expect((await get('/signed')).status).to.equal(401), 200);
    expect(await stat('http.inbound.typescript_filter.hmac.count.unsigned', 'webV1')).to.be.at.least(1);
    await mesh.apply(policy(''));
    await eventually(async () => expect((await get('/signed')).status).to.equal(200), 200);
  });

  it("a TypeScript filter's overrides through trellisctl: off on one path, another config on another", async () => {
    await mesh.apply(
      policy(`filters:
    - name: tier
      config: { v: basic }
      overrides:
        - match: { pathPrefix: /gold }
          config: { v: gold }
        - match: { pathExact: /plain }
          disabled: true
      source: |
        export default {
          onResponse(res: FilterResponse, ctx: FilterContext) {
            res.setHeader('x-tier', ((ctx.routeConfig ?? ctx.config) as { v: string }).v);
          },
        };`),
    );
    await eventually(async () => expect((await get('/gold/1')).headers['x-tier']).to.equal('gold'), 200);
    expect((await get('/plain')).headers['x-tier']).to.equal(undefined);
    expect((await get('/plain/not-exact')).headers['x-tier']).to.equal('basic');
    expect((await get('/other')).headers['x-tier']).to.equal('basic');
    await mesh.apply(policy(''));
    await eventually(async () => expect((await get('/gold/1')).headers['x-tier']).to.equal(undefined), 200);
  });
});
