// trellis-sidecar --concurrency 2: two threads accept on the same listeners (SO_REUSEPORT), the one xDS client's
// config reaches both, the admin port sums their stats (and shows each worker's share of connections), and a drain
// stops both from accepting.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { App, Seen } from './helpers/apps.ts';
import { startHttpApp } from './helpers/apps.ts';
import { eventually } from './helpers/eventually.ts';
import { viaProxy } from './helpers/http-client.ts';
import { BIN, type ControlPlaneProcess, run, startControlPlaneProcess } from './helpers/processes.ts';
import { type SidecarProcess, startSidecar } from './helpers/sidecar.ts';

const service = (port: number): string => `apiVersion: trellis.dev/v1
kind: Service
metadata: { name: web }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, port: ${port} }]
`;

interface JsonStats {
  stats: { name: string; value?: number }[];
}

describe('sidecar --concurrency 2: worker threads share listeners, config and stats', function () {
  this.timeout(90_000);
  let dir: string;
  let cp: ControlPlaneProcess;
  let apps: App[] = [];
  let sidecar: SidecarProcess;

  const apply = async (yaml: string): Promise<void> => {
    const r = await run(BIN.trellisctl, ['--api', cp.api, 'apply', '-f', '-'], yaml);
    expect(r.code, r.stderr).to.equal(0);
  };
  /** The app answering a request on a new connection (each lands on whichever thread the kernel picks). */
  const fresh = async (): Promise<string> => {
    const r = await viaProxy(sidecar.outboundPort, 'http://web:8080/', { fresh: true });
    expect(r.status, r.body).to.equal(200);
    return (JSON.parse(r.body) as Seen).app;
  };
  const stats = async (): Promise<Map<string, number>> => {
    const r = await sidecar.admin('/stats?format=json');
    const body = (await r.json()) as JsonStats;
    return new Map(body.stats.flatMap((s) => (s.value === undefined ? [] : [[s.name, s.value] as [string, number]])));
  };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'trellis-concurrency-'));
    cp = await startControlPlaneProcess(dir);
    apps = [await startHttpApp('web-1'), await startHttpApp('web-2')];
    await apply(service((apps[0] as App).port));
    sidecar = await startSidecar({
      service: 'client',
      xds: `127.0.0.1:${cp.xdsInsecurePort}`,
      extraArgs: ['--concurrency', '2'],
    });
    await eventually(async () => expect(await fresh()).to.equal('web-1'));
  });

  after(async () => {
    await sidecar?.stop();
    await cp?.daemon.stop();
    await Promise.all(apps.map((a) => a.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('spreads new connections over both threads; /stats sums them and shows each worker’s share', async () => {
    const total = 'cluster.web|8080.upstream_rq_total';
    const before = await stats();
    for (let i = 0; i < 60; i++) await fresh();
    const after = await stats();
    // Summed over the threads: every request counted once, whichever thread carried it.
    expect((after.get(total) ?? 0) - (before.get(total) ?? 0)).to.equal(60);
    expect(after.get('server.concurrency')).to.equal(2);
    const scope = `listener.127.0.0.1_${sidecar.outboundPort}`;
    const share = [0, 1].map(
      (w) =>
        (after.get(`${scope}.worker_${w}.downstream_cx_total`) ?? 0) -
        (before.get(`${scope}.worker_${w}.downstream_cx_total`) ?? 0),
    );
    expect(share[0], 'connections the main thread accepted').to.be.greaterThan(0);
    expect(share[1], 'connections worker 1 accepted').to.be.greaterThan(0);
    expect((share[0] ?? 0) + (share[1] ?? 0)).to.equal(60);
    const prometheus = await (await sidecar.admin('/stats/prometheus')).text();
    expect(prometheus).to.match(/envoy_listener_worker_downstream_cx_total\{[^}]*envoy_worker_id="1"[^}]*\} \d+/);
  });

  it('a config change reaches every thread', async () => {
    await apply(service((apps[1] as App).port));
    // Fresh connections land on either thread: 30 in a row from web-2 only once both threads hold the change.
    await eventually(async () => {
      for (let i = 0; i < 30; i++) expect(await fresh()).to.equal('web-2');
    });
    const dump = (await (await sidecar.admin('/config_dump')).json()) as Record<string, unknown>;
    expect(JSON.stringify(dump)).to.contain('web');
  });

  it('POST /drain stops every thread from accepting', async () => {
    const r = await sidecar.admin('/drain', { method: 'POST' });
    expect(r.status).to.equal(200);
    // With one thread still accepting, the kernel would hand it some of these connections.
    await eventually(async () => {
      for (let i = 0; i < 20; i++) {
        const refused = await new Promise<boolean>((resolve) => {
          const s = net.connect(sidecar.outboundPort, '127.0.0.1');
          s.once('connect', () => {
            s.destroy();
            resolve(false);
          });
          s.once('error', () => resolve(true));
        });
        expect(refused, `connection ${i} accepted after the drain`).to.equal(true);
      }
    });
    expect((await sidecar.admin('/ready')).status).to.equal(503);
  });
});

describe('sidecar --concurrency 2 in front of a service: per-thread response caches, one purge', function () {
  this.timeout(90_000);
  let dir: string;
  let cp: ControlPlaneProcess;
  let app: App;
  let sidecar: SidecarProcess;

  /** GET on a new connection to the sidecar's inbound listener (either thread): the cache-status it answered with. */
  const cacheStatus = async (): Promise<string> => {
    const r = await viaProxy(sidecar.inboundPort, 'http://web:8080/cached/page', { fresh: true });
    expect(r.status, r.body).to.equal(200);
    return String(r.headers['cache-status']);
  };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'trellis-concurrency-cache-'));
    cp = await startControlPlaneProcess(dir);
    app = await startHttpApp('web');
    const r = await run(
      BIN.trellisctl,
      ['--api', cp.api, 'apply', '-f', '-'],
      `apiVersion: trellis.dev/v1
kind: Service
metadata: { name: web }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP }]
---
apiVersion: trellis.dev/v1
kind: TrafficPolicy
metadata: { name: web }
spec:
  service: web
  responseCache: {}
`,
    );
    expect(r.code, r.stderr).to.equal(0);
    sidecar = await startSidecar({
      service: 'web',
      xds: `127.0.0.1:${cp.xdsInsecurePort}`,
      appPort: app.port,
      extraArgs: ['--concurrency', '2'],
    });
  });

  after(async () => {
    await sidecar?.stop();
    await cp?.daemon.stop();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('each thread fills its own cache; POST /cache/purge empties every thread’s', async () => {
    // Hits on new connections, whichever thread takes them: both threads hold the page.
    await eventually(async () => {
      for (let i = 0; i < 20; i++) expect(await cacheStatus()).to.equal('trellis; hit');
    }, 200);
    const purge = await sidecar.admin('/cache/purge?prefix=web', { method: 'POST' });
    expect(await purge.text()).to.equal('purged 2\n');
    // Emptied in both: each thread's first answer afterwards is a miss (later ones hit again).
    const after = [];
    for (let i = 0; i < 20; i++) after.push(await cacheStatus());
    expect(after.filter((s) => s === 'trellis; fwd=miss')).to.have.length(2);
  });
});
