// End to end: the HTTP path with balancers, outlier detection, sticky sessions, retry budgets and circuit breakers,
// through a real control plane and a real client sidecar, to backends (static endpoints) that fail on purpose.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { eventually } from './helpers/eventually.ts';
import { closeHttpClients, type HttpResult, viaProxy } from './helpers/http-client.ts';
import { type Backend, RetryTracker, startBackend } from './helpers/lb-backends.ts';
import { runLoad } from './helpers/lb-scenarios.ts';
import { BIN, type ControlPlaneProcess, run, startControlPlaneProcess } from './helpers/processes.ts';
import { type SidecarProcess, startSidecar } from './helpers/sidecar.ts';

function service(name: string, backends: readonly Backend[], weights?: readonly number[]): string {
  const endpoints = backends
    .map((b, i) => `    - { address: 127.0.0.1, port: ${b.port}${weights ? `, weight: ${weights[i]}` : ''} }`)
    .join('\n');
  return `apiVersion: trellis.dev/v1
kind: Service
metadata: { name: ${name} }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
  endpoints:
${endpoints}
`;
}

function policy(name: string, body: string): string {
  return `---
apiVersion: trellis.dev/v1
kind: TrafficPolicy
metadata: { name: ${name} }
spec:
  service: ${name}
${body}`;
}

function retryRoute(name: string, retryOn: string, attempts: number): string {
  return `---
apiVersion: trellis.dev/v1
kind: Route
metadata: { name: ${name} }
spec:
  hosts: [${name}]
  http:
    - route: [{ service: ${name} }]
      retries: { attempts: ${attempts}, retryOn: [${retryOn}], backoff: { baseInterval: 5ms, maxInterval: 20ms } }
`;
}

describe('load balancing and resilience through the sidecar', function () {
  this.timeout(120_000);
  let dataDir: string;
  let cp: ControlPlaneProcess;
  let client: SidecarProcess;
  const backends: Backend[] = [];
  const tracker = new RetryTracker();
  let shop: Backend[];
  let weighted: Backend[];
  let sticky: Backend[];
  let budget: Backend[];
  let breaker: Backend[];

  const get = (svc: string, p = '/', headers: Record<string, string> = {}): Promise<HttpResult> =>
    viaProxy(client.outboundPort, `http://${svc}:8080${p}`, { headers });
  const clusters = async (): Promise<string> => (await client.admin('/clusters')).text();
  const stat = async (name: string): Promise<number> => {
    const text = await (await client.admin('/stats')).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}: `));
    return line === undefined ? 0 : Number(line.slice(name.length + 2));
  };

  before(async () => {
    const start = async (name: string, n: number, t?: RetryTracker): Promise<Backend[]> => {
      const list = await Promise.all(Array.from({ length: n }, (_, i) => startBackend(`${name}-${i}`, t)));
      backends.push(...list);
      return list;
    };
    shop = await start('shop', 3);
    weighted = await start('weighted', 2);
    sticky = await start('sticky', 3);
    budget = await start('budget', 2, tracker);
    breaker = await start('breaker', 1);
    dataDir = mkdtempSync(path.join(tmpdir(), 'trellis-lb-'));
    cp = await startControlPlaneProcess(dataDir, []);
    const yaml = [
      service('shop', shop),
      policy(
        'shop',
        `  outlierDetection:
    consecutive5xx: 3
    splitExternalLocalOriginErrors: true
    consecutiveLocalOriginFailures: 2
    interval: 200ms
    baseEjectionTime: 1s
    maxEjectionPercent: 50
  connectionPool: { maxRetries: 64 }
`,
      ),
      retryRoute('shop', 'connect-failure, reset, 5xx', 3),
      `---\n${service('weighted', weighted, [1, 3])}`,
      `---\n${service('sticky', sticky)}`,
      policy('sticky', '  loadBalancer: { stickySession: { cookie: { name: shop-session, ttl: 1h, path: / } } }\n'),
      retryRoute('sticky', 'connect-failure, reset', 2),
      `---\n${service('budget', budget)}`,
      policy('budget', '  connectionPool: { retryBudget: { percent: 10, minRetryConcurrency: 2 } }\n'),
      retryRoute('budget', '5xx', 3),
      `---\n${service('breaker', breaker)}`,
      policy('breaker', '  connectionPool: { maxRequests: 1 }\n'),
    ].join('\n');
    const r = await run(BIN.trellisctl, ['--api', cp.api, 'apply', '-f', '-'], yaml);
    expect(r.code, r.stderr).to.equal(0);
    client = await startSidecar({ service: 'lb-client', xds: `127.0.0.1:${cp.xdsInsecurePort}` });
    await eventually(async () => {
      for (const svc of ['shop', 'weighted', 'sticky', 'budget', 'breaker'])
        expect((await get(svc)).status, svc).to.equal(200);
    }, 200);
  });

  after(async () => {
    closeHttpClients();
    await client?.stop();
    await cp?.daemon.stop();
    await Promise.all(backends.map((b) => b.close()));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('a backend killed under load: zero failed requests, ejected in /clusters, back in rotation when it returns', async () => {
    for (const b of shop) b.reset();
    const victim = shop[1] as Backend;
    const results = await runLoad(2000, 16, async (i) => {
      if (i === 500) await victim.kill();
      return get('shop', `/item/${i}`);
    });
    const failed = results.filter((r) => r.status !== 200);
    expect(failed.length, JSON.stringify(failed.slice(0, 3))).to.equal(0);
    const text = await clusters();
    expect(text).to.match(
      new RegExp(`shop\\|8080::127\\.0\\.0\\.1:${victim.port}::health_flags::[^\\n]*failed_outlier_check`),
    );
    await victim.revive();
    victim.reset();
    await eventually(async () => {
      await runLoad(30, 3, () => get('shop'));
      expect(victim.hits).to.be.greaterThan(0);
    }, 100);
    expect(await clusters()).to.not.match(
      new RegExp(`127\\.0\\.0\\.1:${victim.port}::health_flags::[^\\n]*failed_outlier_check`),
    );
  });

  it('endpoint weights 1:3 split traffic 25% / 75% (±5%)', async () => {
    for (const b of weighted) b.reset();
    const results = await runLoad(2000, 16, () => get('weighted'));
    expect(results.every((r) => r.status === 200)).to.equal(true);
    const share = (weighted[0] as Backend).hits / 2000;
    expect(share).to.be.within(0.2, 0.3);
    expect((weighted[1] as Backend).hits / 2000).to.be.within(0.7, 0.8);
  });

  it('a sticky cookie keeps a client on its endpoint for 100 requests and fails over when it dies', async () => {
    const first = await get('sticky');
    const setCookie = first.headers['set-cookie']?.[0] ?? '';
    expect(setCookie).to.match(/^shop-session=[0-9a-f]{16}; Max-Age=3600; Path=\/; HttpOnly$/);
    const cookie = setCookie.split(';')[0] as string;
    const owner = first.body;
    for (let i = 0; i < 100; i++) {
      const r = await get('sticky', '/', { cookie });
      expect(r.body).to.equal(owner);
      expect(r.headers['set-cookie']).to.equal(undefined);
    }
    const dead = sticky.find((b) => b.name === owner) as Backend;
    await dead.kill();
    const after = await runLoad(20, 1, () => get('sticky', '/', { cookie }));
    expect(after.every((r) => r.status === 200 && r.body !== owner)).to.equal(true);
    await dead.revive();
  });

  it('a retry budget bounds retries while every backend answers 503', async () => {
    for (const b of budget) {
      b.reset();
      b.mode = '503';
      b.delayMs = 20;
    }
    const overflowBefore = await stat('cluster.budget|8080.upstream_rq_retry_overflow');
    const results = await runLoad(200, 20, () => get('budget'));
    expect(results.every((r) => r.status === 503)).to.equal(true);
    const hits = budget.reduce((n, b) => n + b.hits, 0);
    const retries = budget.reduce((n, b) => n + b.retryHits, 0);
    expect(hits - retries).to.equal(200);
    // max(minRetryConcurrency 2, 10% of ≤ 20 active requests) = 2 retries at once, never 3 × 200.
    expect(tracker.max).to.be.at.most(2);
    expect(retries).to.be.lessThan(600);
    expect(await stat('cluster.budget|8080.upstream_rq_retry_overflow')).to.be.greaterThan(overflowBefore);
    for (const b of budget) b.mode = 'ok';
  });

  it('a circuit breaker (maxRequests 1) trips with the cause header and recovers', async () => {
    const b = breaker[0] as Backend;
    b.mode = 'slow';
    b.delayMs = 300;
    const results = await runLoad(6, 6, () => get('breaker'));
    const tripped = results.filter((r) => r.status === 503);
    expect(tripped.length).to.be.greaterThan(0);
    for (const r of tripped) {
      expect(r.headers['x-trellis-overloaded']).to.equal('true');
      expect(r.headers['x-trellis-overload-cause']).to.equal('max_requests');
    }
    expect(results.filter((r) => r.status === 200).length).to.be.greaterThan(0);
    b.mode = 'ok';
    expect((await get('breaker')).status).to.equal(200);
  });
});
