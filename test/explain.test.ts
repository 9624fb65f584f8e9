// trellisctl explain agrees with what happens: for path, header, weighted and direct-response routes it names the
// route the client sidecar matches (and why the earlier ones did not), the clusters and their hosts; real requests
// through the same sidecar then reach an app behind one of the hosts it named.
import { expect } from 'chai';
import type { Seen } from './helpers/apps.ts';
import { eventually } from './helpers/eventually.ts';
import { closeHttpClients, viaProxy } from './helpers/http-client.ts';
import { type Mesh, startMesh } from './helpers/mesh.ts';

const ROUTE = `apiVersion: trellis.dev/v1
kind: Route
metadata: { name: web }
spec:
  hosts: [web]
  http:
    - name: api
      match: [{ pathPrefix: /api/ }]
      route: [{ service: web, subset: v1 }]
      timeout: 3s
      retries: { attempts: 2, perTryTimeout: 1s }
    - name: canary
      match: [{ headers: { x-canary: { exact: "1" } } }]
      route: [{ service: web, subset: v2 }]
    - name: gone
      match: [{ pathExact: /gone }]
      directResponse: { status: 410, body: gone }
    - name: split
      route:
        - { service: web, subset: v1, weight: 80 }
        - { service: web, subset: v2, weight: 20 }
`;

interface Explained {
  proxy: string;
  virtualHost?: string;
  notMatched: { route: string; reason: string }[];
  route?: {
    name: string;
    action: string;
    timeoutMs?: number;
    retry?: { numRetries: number; perTryTimeoutMs: number };
    clusters: { name: string; weight: number; hosts: { address: string; health: string[] }[] }[];
    filters: { name: string; config: string; does?: string }[];
    directResponse?: { status: number };
  };
}

describe('trellisctl explain (end to end, against real sidecars)', function () {
  this.timeout(90_000);
  let mesh: Mesh;
  /** The web app behind each web sidecar's inbound address (what the client sidecar's hosts are). */
  let appAt: Map<string, string>;

  const explain = async (url: string, headers: string[] = []): Promise<Explained> => {
    const r = await mesh.ctl([
      'explain',
      '--from',
      'client',
      '--to',
      url,
      ...headers.flatMap((h) => ['-H', h]),
      '-o',
      'json',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    return JSON.parse(r.stdout) as Explained;
  };
  /** Which apps real requests through the client sidecar reach. */
  const reached = async (url: string, headers: Record<string, string> = {}, n = 20): Promise<Set<string>> => {
    const apps = new Set<string>();
    for (let i = 0; i < n; i++) {
      const r = await viaProxy(mesh.sidecars.client.outboundPort, url, { headers });
      expect(r.status, r.body).to.equal(200);
      apps.add((JSON.parse(r.body) as Seen).app);
    }
    return apps;
  };
  /** The apps behind the hosts an explanation names. */
  const named = (e: Explained): Set<string> =>
    new Set((e.route?.clusters ?? []).flatMap((c) => c.hosts.map((h) => appAt.get(h.address) ?? h.address)));

  before(async () => {
    mesh = await startMesh();
    await mesh.apply(ROUTE);
    appAt = new Map([
      [`127.0.0.1:${mesh.sidecars.webV1.inboundPort}`, 'web-v1'],
      [`127.0.0.1:${mesh.sidecars.webV2.inboundPort}`, 'web-v2'],
    ]);
    // Converged once the client sidecar holds the route and both subsets' endpoints.
    await eventually(async () => {
      const e = await explain('http://web:8080/anything', ['x-canary: 1']);
      expect(e.route?.name).to.equal('web/1');
      expect(named(e)).to.deep.equal(new Set(['web-v2']));
      expect(named(await explain('http://web:8080/api/x'))).to.deep.equal(new Set(['web-v1']));
    }, 200);
  });

  after(async () => {
    closeHttpClients();
    await mesh?.stop();
  });

  it('a path route: the rule, its timeout and retries, the subset’s hosts; requests reach exactly those', async () => {
    const e = await explain('http://web:8080/api/pay');
    expect(e.proxy).to.match(/^client-/);
    expect(e.notMatched).to.deep.equal([]);
    expect(e.route).to.include({ action: 'forward', timeoutMs: 3000 });
    expect(e.route?.retry).to.include({ numRetries: 2, perTryTimeoutMs: 1000 });
    expect(e.route?.clusters.map((c) => c.name)).to.deep.equal(['web|8080|v1']);
    expect(e.route?.clusters[0]?.hosts.every((h) => h.health.length === 0)).to.equal(true);
    expect(await reached('http://web:8080/api/pay')).to.deep.equal(named(e));
  });

  it('a header route: why the path rule did not match, then the canary subset; requests agree', async () => {
    const e = await explain('http://web:8080/shop', ['x-canary: 1']);
    expect(e.notMatched).to.have.length(1);
    expect(e.notMatched[0]?.reason).to.equal('path "/shop" does not start with "/api/"');
    expect(e.route?.name).to.equal('web/1');
    expect(await reached('http://web:8080/shop', { 'x-canary': '1' })).to.deep.equal(named(e));
  });

  it('a weighted split: both subsets with their weights; requests land only on hosts it named', async () => {
    const e = await explain('http://web:8080/shop', ['x-canary: 0']);
    expect(e.notMatched.map((n) => n.reason)).to.deep.equal([
      'path "/shop" does not start with "/api/"',
      'header x-canary: "0" does not match',
      'path "/shop" is not "/gone"',
    ]);
    expect(e.route?.clusters.map((c) => [c.name, c.weight])).to.deep.equal([
      ['web|8080|v1', 80],
      ['web|8080|v2', 20],
    ]);
    const apps = await reached('http://web:8080/shop', { 'x-canary': '0' }, 60);
    for (const app of apps) expect(named(e)).to.include(app);
  });

  it('a direct response: answered by the proxy; the request gets that status', async () => {
    const e = await explain('http://web:8080/gone');
    expect(e.route).to.deep.include({ action: 'direct-response', directResponse: { status: 410 }, clusters: [] });
    const r = await viaProxy(mesh.sidecars.client.outboundPort, 'http://web:8080/gone');
    expect(r.status).to.equal(410);
  });

  it('a fault on the matched rule: the fault filter with the route’s config in words; the request is aborted', async () => {
    await mesh.apply(
      ROUTE.replace(
        '      route: [{ service: web, subset: v2 }]\n',
        '      route: [{ service: web, subset: v2 }]\n      fault: { abort: { httpStatus: 503, percent: 100 } }\n',
      ),
    );
    const fault = async () =>
      (await explain('http://web:8080/shop', ['x-canary: 1'])).route?.filters.find((f) => f.name.includes('fault'));
    await eventually(async () => expect((await fault())?.config).to.equal('route'), 200);
    expect((await fault())?.does).to.equal('aborts 100% of requests with HTTP 503');
    const r = await viaProxy(mesh.sidecars.client.outboundPort, 'http://web:8080/shop', {
      headers: { 'x-canary': '1' },
    });
    expect(r.status).to.equal(503);
    // Another rule of the same route table: the filter runs with the listener's config (no fault).
    const other = (await explain('http://web:8080/api/x')).route?.filters.find((f) => f.name.includes('fault'));
    expect(other?.config).to.equal('listener');
  });

  it('names what is wrong: an unknown proxy, a host no virtual host serves', async () => {
    const unknown = await mesh.ctl(['explain', '--from', 'nobody', '--to', 'http://web:8080/']);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.match(/^error: no connected proxy is "nobody" \(node id or service\); connected: /);
    const text = await mesh.ctl(['explain', '--from', 'client', '--to', 'http://nowhere.example/']);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.match(/no route: no virtual host has a domain matching nowhere\.example/);
  });
});
