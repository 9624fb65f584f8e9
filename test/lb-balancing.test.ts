// End to end: load-aware balancers (least request, least response time) and consistent hashing (ring hash, Maglev;
// header, cookie and source-IP keys) through a real control plane and a real client sidecar to static backends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { eventually } from './helpers/eventually.ts';
import { closeHttpClients, type HttpResult, viaProxy } from './helpers/http-client.ts';
import { type Backend, startBackend } from './helpers/lb-backends.ts';
import { formatShares, loadBalancerYaml, runLoad, serviceYaml, shares } from './helpers/lb-scenarios.ts';
import { BIN, type ControlPlaneProcess, run, startControlPlaneProcess } from './helpers/processes.ts';
import { type SidecarProcess, startSidecar } from './helpers/sidecar.ts';

const KEYS = Array.from({ length: 50 }, (_, i) => `user-${i}`);

describe('load-aware balancing and consistent hashing through the sidecar', function () {
  this.timeout(120_000);
  let dataDir: string;
  let cp: ControlPlaneProcess;
  let client: SidecarProcess;
  const all: Backend[] = [];
  const pools = new Map<string, Backend[]>();

  const pool = (svc: string): Backend[] => pools.get(svc) as Backend[];
  const get = (svc: string, headers: Record<string, string> = {}): Promise<HttpResult> =>
    viaProxy(client.outboundPort, `http://${svc}:8080/`, { headers });
  const apply = async (yaml: string): Promise<void> => {
    const r = await run(BIN.trellisctl, ['--api', cp.api, 'apply', '-f', '-'], yaml);
    expect(r.code, r.stderr).to.equal(0);
  };
  const backendOf = (r: HttpResult): string => {
    expect(r.status, r.body).to.equal(200);
    return String(r.headers['x-backend']);
  };
  /** Key → backend for every key, 3 requests per key, asserting each key lands on one backend every time. */
  const keyMap = async (svc: string): Promise<Map<string, string>> => {
    const map = new Map<string, string>();
    const results = await runLoad(KEYS.length * 3, 6, (i) => get(svc, { 'x-user': KEYS[i % KEYS.length] as string }));
    results.forEach((r, i) => {
      const key = KEYS[i % KEYS.length] as string;
      const b = backendOf(r);
      const seen = map.get(key);
      expect(seen ?? b, `${svc}: key ${key} went to ${seen} and to ${b}`).to.equal(b);
      map.set(key, b);
    });
    return map;
  };

  before(async () => {
    const policies: Record<string, string> = {
      // choiceCount 3: with the default 2 (P2C) the slow host measured 15–18%, too close to the 20% bound for a
      // loaded CI machine; with 3 it measured ~13%.
      lr: '{ algorithm: LEAST_REQUEST, choiceCount: 3 }',
      lrt: '{ algorithm: LEAST_RESPONSE_TIME }',
      ring: '{ algorithm: RING_HASH, consistentHash: { header: x-user } }',
      maglev: '{ algorithm: MAGLEV, consistentHash: { header: x-user } }',
      cookiehash: '{ algorithm: RING_HASH, consistentHash: { cookie: { name: user, ttl: 1h, path: / } } }',
      srcip: '{ algorithm: MAGLEV, consistentHash: { sourceIp: true } }',
    };
    const docs: string[] = [];
    for (const [svc, lb] of Object.entries(policies)) {
      const list = await Promise.all([0, 1, 2].map((i) => startBackend(`${svc}-${i}`)));
      all.push(...list);
      pools.set(svc, list);
      docs.push(serviceYaml(svc, list), loadBalancerYaml(svc, lb));
    }
    dataDir = mkdtempSync(path.join(tmpdir(), 'trellis-lb-balancing-'));
    cp = await startControlPlaneProcess(dataDir, []);
    await apply(docs.join('---\n'));
    client = await startSidecar({ service: 'lb-balancing-client', xds: `127.0.0.1:${cp.xdsInsecurePort}` });
    await eventually(async () => {
      for (const svc of pools.keys()) expect((await get(svc)).status, svc).to.equal(200);
    }, 200);
  });

  after(async () => {
    closeHttpClients();
    await client?.stop();
    await cp?.daemon.stop();
    await Promise.all(all.map((b) => b.close()));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  for (const [svc, algorithm] of [
    ['lr', 'LEAST_REQUEST'],
    ['lrt', 'LEAST_RESPONSE_TIME'],
  ] as const) {
    it(`${algorithm}: a backend 10× slower than the others gets < 20% of 600 requests (12 concurrent)`, async () => {
      const backends = pool(svc);
      backends.forEach((b, i) => {
        b.reset();
        b.mode = 'slow';
        b.delayMs = i === 0 ? 20 : 2;
      });
      const results = await runLoad(600, 12, () => get(svc));
      expect(results.filter((r) => r.status !== 200).length).to.equal(0);
      const s = shares(results, backends);
      const slow = s.get((backends[0] as Backend).name) ?? 1;
      expect(slow, `${algorithm} shares (slow = ${svc}-0): ${formatShares(s)}`).to.be.lessThan(0.2);
    });
  }

  for (const [svc, algorithm, bound] of [
    ['ring', 'RING_HASH', 0.35],
    ['maglev', 'MAGLEV', 0.15],
  ] as const) {
    it(`${algorithm} on x-user: 50 keys stick; removing 1 of 3 backends moves ≤ ${bound} of the other keys`, async () => {
      const backends = pool(svc);
      const before = await keyMap(svc);
      expect(new Set(before.values()).size, `${algorithm}: keys spread over every backend`).to.equal(3);
      const removed = backends[1] as Backend;
      await apply(serviceYaml(svc, [backends[0] as Backend, backends[2] as Backend]));
      const after = await eventually(async () => {
        const m = await keyMap(svc);
        expect([...m.values()]).to.not.include(removed.name);
        return m;
      }, 100);
      const stayers = KEYS.filter((k) => before.get(k) !== removed.name);
      const moved = stayers.filter((k) => after.get(k) !== before.get(k));
      const fraction = moved.length / stayers.length;
      const onRemoved = KEYS.length - stayers.length;
      expect(
        fraction,
        `${algorithm}: ${moved.length}/${stayers.length} keys not on the removed backend moved (${onRemoved} were on it)`,
      ).to.be.at.most(bound);
    });
  }

  it('RING_HASH on a cookie: the generated cookie keeps one client on one backend for 20 requests', async () => {
    const first = await get('cookiehash');
    const setCookie = first.headers['set-cookie']?.[0] ?? '';
    expect(setCookie).to.match(/^user=[^;]+; Max-Age=3600; Path=\/; HttpOnly$/);
    const cookie = setCookie.split(';')[0] as string;
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await get('cookiehash', { cookie });
      seen.add(backendOf(r));
      expect(r.headers['set-cookie']).to.equal(undefined);
    }
    expect([...seen], `cookie ${cookie}`).to.have.length(1);
    expect([...seen][0], 'the request that got the cookie was hashed on it too').to.equal(backendOf(first));
  });

  it('MAGLEV on the source IP: one client lands on one backend for 20 requests', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(backendOf(await get('srcip')));
    expect([...seen]).to.have.length(1);
  });
});
